"""The in-process HTTP server (labserver.server): request framing, read timeouts, keep-alive, stop.

Raw sockets, because these are the requests ``requests`` does not make. Servers here get a
short read timeout (``TIMEOUT``) so that a stalled client costs the test a fraction of a second;
the client side waits at most ``CLIENT_WAIT`` seconds, which only matters when a test fails.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from labserver import server as server_module
from labserver.server import ServerThread
from labserver.tls import LabTLS

TIMEOUT = 0.3
CLIENT_WAIT = 5.0
HEAD = b"Host: 127.0.0.1\r\nContent-Type: application/json\r\n"


@pytest.fixture
def seen(app):
    """What the app received: one ``(remote port, body)`` per request that reached it."""
    from flask import request

    received: list[tuple[str, bytes]] = []

    @app.before_request
    def record():
        received.append((request.environ["REMOTE_PORT"], request.get_data(cache=True)))

    return received


@pytest.fixture
def server(app, seen):
    server = ServerThread(app, read_timeout=TIMEOUT)
    yield server
    server.stop()


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=CLIENT_WAIT)


def read_response(f) -> tuple[int, dict[str, str], bytes]:
    """One HTTP response from the socket file ``f``: status, headers (lower-case names), body."""
    status = f.readline()
    assert status.startswith(b"HTTP/1."), f"no status line, got {status!r}"
    headers = {}
    while (line := f.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = f.read(int(headers.get("content-length", 0)))
    return int(status.split()[1]), headers, body


def assert_json_error(body: bytes, error: str) -> dict:
    parsed = json.loads(body)
    assert set(parsed) == {"error", "error_description"} and parsed["error"] == error, parsed
    return parsed


def closed_by_server(sock: socket.socket) -> bool:
    """True if the server ends the connection (EOF or reset) before the client gives up."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def closed_after_any_last_answer(sock: socket.socket) -> bool:
    """:func:`closed_by_server`, reading past a last answer the server may write first (to a
    half-sent request that stop() cuts off, it may say 400 or 408 before closing)."""
    try:
        for _ in range(64):
            if sock.recv(65536) == b"":
                return True
        return False
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


# --- request bodies: Content-Length only ---------------------------------------------------


def test_the_truncated_chunk_repro_is_refused_before_the_app_reads_a_byte(server, seen):
    # werkzeug's dechunker handed the app 64 KiB of process memory for this (issue 13).
    with connect(server.url) as s:
        s.sendall(
            b"POST /session/login HTTP/1.1\r\n"
            + HEAD
            + b"Transfer-Encoding: chunked\r\n\r\n100000\r\nabc"
        )
        s.shutdown(socket.SHUT_WR)
        status, headers, body = read_response(s.makefile("rb"))
    assert status == 411 and headers["content-type"] == "application/json"
    assert "Content-Length" in assert_json_error(body, "length_required")["error_description"]
    assert seen == [], "the request reached the app"


@pytest.mark.parametrize("encoding", [b"chunked", b"gzip, chunked", b"CHUNKED"])
def test_a_chunked_body_over_64_kib_is_refused_not_cut(server, seen, encoding):
    body = json.dumps({"username": "alice", "password": "x" * 70_000}).encode()
    with connect(server.url) as s:
        s.sendall(
            b"POST /session/login HTTP/1.1\r\n"
            + HEAD
            + b"Transfer-Encoding: "
            + encoding
            + b"\r\n\r\n"
            + chunked(body)
        )
        status, headers, reply = read_response(s.makefile("rb"))
        assert closed_by_server(s), "the rest of a refused body must not be read as a request"
    assert status == 411 and headers["connection"] == "close"
    assert_json_error(reply, "length_required")
    assert seen == []


def test_content_length_with_transfer_encoding_is_refused(server, seen):
    # Two framings for one body: the classic request-smuggling shape.
    with connect(server.url) as s:
        s.sendall(
            b"POST /session/login HTTP/1.1\r\n" + HEAD + b"Content-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunked(b"{}")
        )
        status, _, body = read_response(s.makefile("rb"))
    assert status == 411 and seen == []
    assert_json_error(body, "length_required")


@pytest.mark.parametrize(
    "lengths", [[b"2", b"3"], [b"-1"], [b"2x"], [b"0x10"], [b"\xb2"], [b"4\xb9"]]
)
def test_an_unreadable_content_length_is_a_json_400(server, seen, lengths):
    head = b"".join(b"Content-Length: " + v + b"\r\n" for v in lengths)
    with connect(server.url) as s:
        s.sendall(b"POST /session/login HTTP/1.1\r\n" + HEAD + head + b"\r\n{}x")
        status, _, body = read_response(s.makefile("rb"))
    assert (
        status == 400
        and "Content-Length" in assert_json_error(body, "bad_request")["error_description"]
    )
    assert seen == []


def test_a_body_over_the_limit_is_413_and_the_connection_closed(server, seen):
    body = b"x" * 100_000
    with connect(server.url) as s:
        s.sendall(
            b"POST /session/login HTTP/1.1\r\n"
            + HEAD
            + b"Content-Length: %d\r\n\r\n" % len(body)
            + body
        )
        status, headers, reply = read_response(s.makefile("rb"))
        assert closed_by_server(s)
    assert status == 413 and headers["connection"] == "close"
    assert_json_error(reply, "request_entity_too_large")


def test_expect_100_continue_then_the_body(server, seen):
    body = json.dumps({"username": "alice", "password": "wrong"}).encode()
    with connect(server.url) as s:
        f = s.makefile("rb")
        s.sendall(
            b"POST /session/login HTTP/1.1\r\n" + HEAD + b"Expect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        assert f.readline().split()[1] == b"100" and f.readline() == b"\r\n"
        s.sendall(body)
        status, _, reply = read_response(f)
    assert status == 401 and seen[0][1] == body
    assert_json_error(reply, "invalid_credentials")


def test_a_refused_chunked_body_is_not_invited_with_100_continue(server, seen):
    with connect(server.url) as s:
        s.sendall(
            b"POST /session/login HTTP/1.1\r\n" + HEAD + b"Expect: 100-continue\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        status, _, body = read_response(s.makefile("rb"))
    assert status == 411 and seen == []
    assert_json_error(body, "length_required")


# --- read timeouts ---------------------------------------------------------------------------


def test_a_declared_body_that_never_comes_is_answered_408(server, seen):
    with connect(server.url) as s:
        s.sendall(b"POST /session/login HTTP/1.1\r\n" + HEAD + b"Content-Length: 20\r\n\r\n")
        status, headers, body = read_response(s.makefile("rb"))
        assert closed_by_server(s)
    assert status == 408 and headers["connection"] == "close"
    assert "did not arrive" in assert_json_error(body, "request_timeout")["error_description"]


def test_half_a_request_head_is_answered_408_and_closed(server, seen):
    with connect(server.url) as s:
        s.sendall(b"POST /session/login HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        status, _, body = read_response(s.makefile("rb"))
        assert closed_by_server(s)
    assert status == 408 and seen == []
    assert_json_error(body, "request_timeout")
    assert any("timed out" in line for line in server.server_log)


def test_a_head_sent_a_byte_at_a_time_runs_into_the_timeout(server, seen):
    # Each byte comes well within the timeout: only a deadline for the whole head stops it.
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    with connect(server.url) as s:
        try:
            for i in range(len(request)):
                s.sendall(request[i : i + 1])
                time.sleep(TIMEOUT / 6)
        except OSError:
            pass  # the server gave up on us: expected
        status, _, body = read_response(s.makefile("rb"))
    assert status == 408 and seen == []
    assert_json_error(body, "request_timeout")


def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(server):
    with connect(server.url) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, headers, _ = read_response(s.makefile("rb"))
        assert status == 200 and "connection" not in headers, "kept alive"
        assert closed_by_server(s)
    assert server.server_log == [], "an idle connection is not a protocol problem"


# --- keep-alive ------------------------------------------------------------------------------


def test_two_requests_on_one_connection_both_get_answers(server, seen):
    body = json.dumps({"username": "alice", "password": "wrong"}).encode()
    with connect(server.url) as s:
        f = s.makefile("rb")
        s.sendall(
            b"POST /session/login HTTP/1.1\r\n"
            + HEAD
            + b"Content-Length: %d\r\n\r\n" % len(body)
            + body
        )
        first = read_response(f)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        second = read_response(f)
    assert first[0] == 401 and "connection" not in first[1]
    assert second[0] == 200 and json.loads(second[2]) == {"status": "ok"}
    assert [b for _, b in seen] == [body, b""], "the body was framed by its Content-Length"


def test_pipelined_requests_are_answered_in_order(server):
    with connect(server.url) as s:
        f = s.makefile("rb")
        s.sendall(
            b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        assert [read_response(f)[0] for _ in range(2)] == [200, 404]


def test_a_requests_session_reuses_its_connection(server, seen):
    with requests.Session() as http:
        http.trust_env = False
        assert http.get(server.url + "/health", timeout=CLIENT_WAIT).ok
        http.post(
            server.url + "/session/login",
            json={"username": "alice", "password": "no"},
            timeout=CLIENT_WAIT,
        )
        assert http.get(server.url + "/health", timeout=CLIENT_WAIT).ok
    assert len({port for port, _ in seen}) == 1, f"one connection expected: {seen}"


def test_past_the_keep_alive_limit_connections_close_after_each_response(server, monkeypatch):
    monkeypatch.setattr(server_module, "KEEP_ALIVE_CONNECTIONS", 1)
    request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    with connect(server.url) as first:
        first.sendall(request)
        status, headers, _ = read_response(first.makefile("rb"))
        assert status == 200 and "connection" not in headers, "the first one is kept alive"
        with connect(server.url) as second:
            second.sendall(request)
            status, headers, _ = read_response(second.makefile("rb"))
            assert status == 200 and headers["connection"] == "close"
            assert closed_by_server(second)


@pytest.mark.parametrize(
    "request_line",
    [
        b"GET /health HTTP/1.0\r\nHost: x\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ],
)
def test_http_1_0_and_connection_close_get_a_closed_connection(server, request_line):
    with connect(server.url) as s:
        s.sendall(request_line)
        status, headers, _ = read_response(s.makefile("rb"))
        assert closed_by_server(s)
    assert status == 200 and headers["connection"] == "close"


# --- HTTPS and stop() ------------------------------------------------------------------------


@pytest.fixture
def tls():
    tls = LabTLS()
    yield tls
    tls.cleanup()


def stop_within(server: ServerThread, seconds: float = 10.0) -> bool:
    """Call stop() in a thread: False (rather than a hung test) if it does not return."""
    stopper = threading.Thread(target=server.stop, daemon=True)
    stopper.start()
    stopper.join(seconds)
    return not stopper.is_alive()


def test_a_silent_client_does_not_block_the_https_lab(app, seen, tls):
    # werkzeug did the TLS handshake in the accept loop: one connection that sends nothing
    # blocked every other client, and stop(), until it went away.
    server = ServerThread(app, ssl_context=tls.context, read_timeout=30)
    silent = connect(server.url)
    try:
        with requests.Session() as http:
            http.verify, http.trust_env = str(tls.cert_path), False
            assert http.get(server.url + "/health", timeout=CLIENT_WAIT).ok
            assert http.get(server.url + "/health", timeout=CLIENT_WAIT).ok
        assert len({port for port, _ in seen}) == 1, "keep-alive over TLS too"
        assert stop_within(server)
    finally:
        silent.close()
        server.stop()


def test_stop_ends_every_connection_and_handler_thread(app, tls):
    before = set(threading.enumerate())
    plain = ServerThread(app, read_timeout=30)  # long: stop(), not the timeout, ends them
    secure = ServerThread(app, ssl_context=tls.context, read_timeout=30)
    sockets = []
    for raw in [
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",  # then idle, kept alive
        b"POST /session/login HTTP/1.1\r\n" + HEAD + b"Content-Length: 9\r\n\r\n{",
        b"GET /health HTTP/1.1\r\nHost:",
    ]:
        s = connect(plain.url)
        s.sendall(raw)
        sockets.append(s)
    sockets.append(connect(secure.url))  # TCP only, no TLS handshake
    session = requests.Session()
    session.verify, session.trust_env = str(tls.cert_path), False
    session.get(secure.url + "/health", timeout=CLIENT_WAIT)  # a kept-alive TLS connection
    sockets[0].recv(4096)
    assert threading.active_count() > len(before)
    try:
        assert stop_within(plain) and stop_within(secure)
        assert set(threading.enumerate()) <= before, "a handler thread outlived stop()"
        assert all(closed_after_any_last_answer(s) for s in sockets[:3])
    finally:
        session.close()
        for s in sockets:
            s.close()


def test_the_lab_client_does_not_reuse_a_connection_the_server_may_be_closing(lab):
    from flask import request

    ports = []
    lab.app.before_request(lambda: ports.append(request.environ["REMOTE_PORT"]))
    lab.http.get("/health")
    lab.http.get("/health")
    lab.http._last_used -= 60  # as if the notebook had paused for a minute
    lab.http.get("/health")
    assert ports[0] == ports[1] != ports[2]
