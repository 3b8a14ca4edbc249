"""A WSGI app on a real loopback socket, served from a daemon thread of this process.

werkzeug's threaded server, with these changes for notebooks:

* its access log and error log are kept in memory instead of printed from the server thread
  (which would land in whichever cell happens to run);
* errors that ``http.server`` answers itself, before the app sees the request (an over-long
  request line or header, a bad HTTP version), get the lab's JSON error shape too;
* request bodies must declare a ``Content-Length``: a chunked body (or any other
  ``Transfer-Encoding``) is refused with a JSON 411 before the app reads a byte, because
  werkzeug's dev-server dechunker returns stray process memory for a truncated chunk;
* a client must send each request, and its body, within ``read_timeout`` seconds (a stalled
  head is closed, or answered 408 if part of it came; a stalled body is answered 408), and an
  idle keep-alive connection is closed after as long;
* HTTP/1.1 connections are kept alive between requests (werkzeug closes every one), up to
  :data:`KEEP_ALIVE_CONNECTIONS` at a time, and the
  TLS handshake of the HTTPS lab happens in the connection's own thread, under the same
  timeout, so that one silent client cannot block the accept loop;
* ``stop()`` returns quickly: the accept loop polls every 20 ms instead of 500 ms, and open
  keep-alive connections are closed so that no handler thread outlives the server.
"""

from __future__ import annotations

import io
import json
import socket
import socketserver
import threading
import time
import traceback
from http import HTTPStatus

from werkzeug.exceptions import RequestTimeout
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

POLL_INTERVAL = 0.02  # seconds; how long stop() may wait for the accept loop to notice
#: Seconds a client may take to send a request's head, then its body (and the TLS handshake);
#: also how long an idle keep-alive connection stays open.
READ_TIMEOUT = 5.0
#: Connections kept open past this many close after each response (one thread per connection:
#: code that makes a new client per request must not leave thousands of idle threads).
KEEP_ALIVE_CONNECTIONS = 32


class _DeadlineReader(io.RawIOBase):
    """The connection's bytes, read with a deadline for the whole request head or body.

    A socket timeout alone bounds each ``recv``, so a client sending one byte at a time would
    hold the thread for ever; this bounds the total.
    """

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock, self._timeout = sock, timeout
        self.start()

    def readable(self) -> bool:
        return True

    def start(self, *, head: bool = False) -> None:
        """Give the next read phase (a request head, a body) a fresh deadline."""
        self._deadline = time.monotonic() + self._timeout
        self._head = head
        self.received = 0
        self.timed_out = False

    def readinto(self, buf) -> int:
        left = self._deadline - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError(f"no complete request within {self._timeout:g} s")
            self._sock.settimeout(left)
            try:
                n = self._sock.recv_into(buf)
            finally:
                self._sock.settimeout(self._timeout)  # writes keep the plain per-call timeout
        except TimeoutError:
            self.timed_out = True
            if self._head and not self.received:
                return 0  # an idle keep-alive connection: end it like a client's close, quietly
            raise
        self.received += n
        return n


class _RequestBody(io.RawIOBase):
    """Exactly ``length`` bytes of the connection: the request body, and never the next request.

    While the app reads, a body that does not arrive in time raises a 408 for the app to
    answer. Once the response has started, werkzeug drains what is left; then a stalled or
    dropped body just ends the drain, and the connection is closed.
    """

    def __init__(self, rfile: io.BufferedReader, length: int, timeout: float) -> None:
        self._rfile, self._left, self._timeout = rfile, length, timeout
        self.draining = False

    @property
    def complete(self) -> bool:
        """True once every declared byte has been read."""
        return self._left == 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        # werkzeug drains with read(10_000_000): do not allocate that for a body that is done.
        size = self._left if size is None or size < 0 else min(size, self._left)
        return super().read(size) if size else b""

    def readinto(self, buf) -> int:
        if self._left <= 0:
            return 0
        try:
            data = self._rfile.read1(min(len(buf), self._left))
        except TimeoutError:
            if self.draining:
                return 0
            raise RequestTimeout(
                f"the request body did not arrive within {self._timeout:g} s"
            ) from None
        except OSError:  # a reset: the app sees a short body (werkzeug answers 400)
            return 0
        buf[: len(data)] = data
        self._left -= len(data)
        return len(data)


class _LabRequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes; on keep-alive, Nagle
    # would hold the second until the client's delayed ACK (40 ms a request)
    _keep_alive = False
    _body: _RequestBody | None = None

    def setup(self) -> None:
        self.timeout = self.server.read_timeout
        super().setup()
        self.rfile.close()  # the socket's own reader, replaced: an open one would keep it open
        self._reader = _DeadlineReader(self.connection, self.server.read_timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._keep_alive, self._body = False, None
        self.command, self.request_version = "", "HTTP/1.0"  # until parse_request sets them
        self._reader.start(head=True)
        super().handle_one_request()  # a timeout in there closes the connection
        if self._reader.timed_out and self._body is None and self._reader.received:
            # Part of a request head came, then nothing: say why before closing. (A silent
            # idle keep-alive connection is just closed, as HTTP/1.1 servers do.)
            try:
                self.send_error(
                    408, f"the request head did not arrive within {self.server.read_timeout:g} s"
                )
            except OSError:
                pass
        if self.server.stopping:
            self.close_connection = True

    def handle_expect_100(self) -> bool:
        # werkzeug's run_wsgi sends "100 Continue" itself, after the framing checks below: a
        # refused body is then never invited.
        return True

    def run_wsgi(self) -> None:
        if "Transfer-Encoding" in self.headers:
            # werkzeug's dev-server dechunker hands the app process memory for a truncated
            # chunk, and cuts bodies over 64 KiB: only length-delimited bodies are read.
            self.send_error(
                411,
                "send the body with a Content-Length; Transfer-Encoding "
                f"({self.headers['Transfer-Encoding']!r}) is not accepted",
            )
            return
        lengths = {v.strip() for v in self.headers.get_all("Content-Length", [])}
        if len(lengths) > 1 or not all((v.isascii() and v.isdigit()) for v in lengths):
            self.send_error(400, "the Content-Length header is not one decimal number")
            return
        self._reader.start()  # the body gets its own read_timeout
        self._body = _RequestBody(
            self.rfile, int(lengths.pop()) if lengths else 0, self.server.read_timeout
        )
        self._keep_alive = (
            not self.close_connection
            and self.request_version == "HTTP/1.1"
            and not self.server.stopping
            and len(self.server._handlers) <= KEEP_ALIVE_CONNECTIONS
        )
        rfile, self.rfile = self.rfile, self._body  # the app's wsgi.input, and werkzeug's drain
        try:
            super().run_wsgi()
        finally:
            self.rfile = rfile
        if not self._body.complete:
            self.close_connection = True  # the rest of the body would be read as a request

    def send_header(self, keyword: str, value: str) -> None:
        # werkzeug adds "Connection: close" to every response; drop it where keep-alive is safe:
        # the whole body was read, so the next bytes are the next request.
        if keyword.lower() == "connection" and self._keep_alive and self._body.complete:
            return
        super().send_header(keyword, value)

    def end_headers(self) -> None:
        if self._body is not None:
            self._body.draining = True
        super().end_headers()

    def log(self, type: str, message: str, *args) -> None:
        self.server.server_log.append(f"{type}: {message % args if args else message}")

    def log_request(self, code="-", size="-") -> None:
        pass  # the app's RequestLog middleware records requests, with the credential shown

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """``http.server``'s own errors, as the lab's JSON error body."""
        try:
            phrase, long = HTTPStatus(code).phrase, HTTPStatus(code).description
        except ValueError:
            phrase, long = "Error", ""
        body = json.dumps(
            {
                "error": phrase.lower().replace(" ", "_"),
                "error_description": message or explain or long or phrase,
            }
        ).encode()
        self.log_error("code %d, message %s", code, message)
        self._keep_alive = False
        # http.server answers an unparsable request line the HTTP/0.9 way: a bare body with no
        # status line. Nobody speaks 0.9 any more; a status line makes the refusal readable.
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        self.send_response(code)  # the standard phrase; the body says what was wrong
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)
        self.close_connection = True
        self._discard_input()

    def _discard_input(self, limit: int = 1 << 20) -> None:
        """Read and drop what the client is still sending, briefly, before the close.

        Closing a socket with unread bytes resets the connection, and a reset can make the
        client lose the answer it was just sent.
        """
        end = time.monotonic() + min(0.5, self.server.read_timeout)
        try:
            self.wfile.flush()
            socket.socket.shutdown(self.connection, socket.SHUT_WR)  # the client sees the end
            while limit > 0 and (left := end - time.monotonic()) > 0:
                self.connection.settimeout(left)
                data = socket.socket.recv(self.connection, 65536)
                if not data:
                    break
                limit -= len(data)
        except OSError:
            pass


class _PrintingRequestHandler(_LabRequestHandler):
    # For a server in its own terminal (``python -m labserver serve``): werkzeug's request log.
    log = WSGIRequestHandler.log
    log_request = WSGIRequestHandler.log_request


class _LabWSGIServer(ThreadedWSGIServer):
    def __init__(
        self, host, port, app, *, ssl_context=None, read_timeout=READ_TIMEOUT, **kwargs
    ) -> None:
        self.server_log: list[str] = []
        self.read_timeout = read_timeout
        self.stopping = False
        self._connections: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()
        self._lock = threading.Lock()
        # The listening socket stays plain: werkzeug would wrap it, and then accept() does the
        # TLS handshake in the accept loop, where a client that sends nothing blocks everyone.
        super().__init__(host, port, app, **kwargs)
        self.ssl_context = ssl_context  # also makes werkzeug report wsgi.url_scheme "https"

    def log(self, type: str, message: str, *args) -> None:
        self.server_log.append(f"{type}: {message % args if args else message}")

    def handle_error(self, request, client_address) -> None:
        # socketserver prints the traceback to stderr, which lands in whichever notebook cell
        # happens to run; the lab keeps it in server_log instead.
        self.server_log.append(f"error: {traceback.format_exc(limit=-3).strip()}")

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a reverse DNS lookup: slow, and
        # not on loopback. The name is only used for SERVER_NAME, which the lab does not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address) -> None:
        thread = threading.Thread(target=self._handle, args=(request, client_address), daemon=True)
        with self._lock:
            self._connections.add(request)
            self._handlers.add(thread)
        thread.start()

    def _handle(self, request, client_address) -> None:
        conn = request
        try:
            if self.ssl_context is not None:
                conn = self._tls_handshake(request)
                if conn is None:
                    return
            self.process_request_thread(conn, client_address)
        finally:
            with self._lock:
                self._connections.discard(conn)
                self._handlers.discard(threading.current_thread())

    def _tls_handshake(self, request: socket.socket):
        """The TLS connection over ``request``, or None (and ``request`` closed) if it failed."""
        request.settimeout(self.read_timeout)  # for the whole handshake, not for each read
        conn = self.ssl_context.wrap_socket(
            request, server_side=True, do_handshake_on_connect=False
        )
        with self._lock:  # wrap_socket detached ``request``: stop() must see the new socket
            self._connections.discard(request)
            self._connections.add(conn)
            stopping = self.stopping
        try:
            if stopping:  # stop() ran before the swap and could not reach this socket
                raise ConnectionAbortedError("the server is stopping")
            conn.do_handshake()
        except OSError as exc:  # ssl.SSLError, a timeout, a reset, stop()
            self.log("error", f"TLS handshake failed: {exc!r}")
            self.shutdown_request(conn)
            with self._lock:
                self._connections.discard(conn)
            return None
        return conn

    def close_connections(self, timeout: float = 1.0) -> None:
        """End every keep-alive connection and wait for its handler thread."""
        with self._lock:
            self.stopping = True
            connections, handlers = list(self._connections), list(self._handlers)
        for conn in connections:
            try:
                # socket.socket's shutdown, not SSLSocket's: that one also drops its SSL
                # object, which the handler thread may be reading with.
                socket.socket.shutdown(conn, socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in handlers:
            thread.join(timeout)


def make_server(
    host: str,
    port: int,
    app,
    *,
    ssl_context=None,
    read_timeout: float = READ_TIMEOUT,
    quiet: bool = True,
) -> _LabWSGIServer:
    """werkzeug's threaded server for ``app`` with the lab's changes (see the module docstring).

    ``quiet=False`` prints werkzeug's request log, for a server in a terminal of its own.
    """
    handler = _LabRequestHandler if quiet else _PrintingRequestHandler
    return _LabWSGIServer(
        host, port, app, handler=handler, ssl_context=ssl_context, read_timeout=read_timeout
    )


class ServerThread:
    """``app`` served on ``http://127.0.0.1:<free port>`` until :meth:`stop`.

    ``read_timeout``: seconds a client may take to send a request head, then its body (and an
    idle keep-alive connection stays open as long); default :data:`READ_TIMEOUT`.
    """

    def __init__(
        self,
        app,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context=None,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.server = make_server(
            host, port, app, ssl_context=ssl_context, read_timeout=read_timeout
        )
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://{host}:{self.server.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name=f"labserver {self.url}",
            daemon=True,
        )
        self._thread.start()

    @property
    def running(self) -> bool:
        """True until :meth:`stop` has finished."""
        return self._thread.is_alive()

    @property
    def server_log(self) -> list[str]:
        """What werkzeug would have printed: errors and protocol problems."""
        return self.server.server_log

    def stop(self) -> None:
        """Stop accepting, close open connections, and wait for every thread (idempotent)."""
        if self._thread.is_alive():
            self.server.shutdown()
        self._thread.join()
        self.server.server_close()
        self.server.close_connections()
