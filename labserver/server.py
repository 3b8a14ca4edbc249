"""A WSGI app on a real loopback socket, served from a daemon thread of this process.

werkzeug's threaded server, with three changes for notebooks:

* its access log and error log are kept in memory instead of printed from the server thread
  (which would land in whichever cell happens to run);
* errors that ``http.server`` answers itself, before the app sees the request (an over-long
  request line or header, a bad HTTP version), get the lab's JSON error shape too;
* ``stop()`` returns quickly: the accept loop polls every 20 ms instead of 500 ms, and open
  keep-alive connections are closed so that no handler thread outlives the server.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from http import HTTPStatus

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

POLL_INTERVAL = 0.02  # seconds; how long stop() may wait for the accept loop to notice


class _LabRequestHandler(WSGIRequestHandler):
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
        body = json.dumps({
            "error": phrase.lower().replace(" ", "_"),
            "error_description": message or explain or long or phrase,
        }).encode()
        self.log_error("code %d, message %s", code, message)
        # http.server answers an unparsable request line the HTTP/0.9 way: a bare body with no
        # status line. Nobody speaks 0.9 any more; a status line makes the refusal readable.
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)
        self.close_connection = True


class _LabWSGIServer(ThreadedWSGIServer):
    def __init__(self, *args, **kwargs) -> None:
        self.server_log: list[str] = []
        self._connections: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()
        self._lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def log(self, type: str, message: str, *args) -> None:
        self.server_log.append(f"{type}: {message % args if args else message}")

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
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._connections.discard(request)
                self._handlers.discard(threading.current_thread())

    def close_connections(self, timeout: float = 1.0) -> None:
        """End every keep-alive connection and wait for its handler thread."""
        with self._lock:
            connections, handlers = list(self._connections), list(self._handlers)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in handlers:
            thread.join(timeout)


class ServerThread:
    """``app`` served on ``http://127.0.0.1:<free port>`` until :meth:`stop`."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, ssl_context=None) -> None:
        self.server = _LabWSGIServer(host, port, app, handler=_LabRequestHandler,
                                     ssl_context=ssl_context)
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://{host}:{self.server.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
            name=f"labserver {self.url}", daemon=True,
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
