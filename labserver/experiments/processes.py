"""The lab in separate processes: a store they can share, and gunicorn worker processes on it.

Chapter 10's sections on worker processes, tests/test_processes.py and
tests/test_gunicorn_workers.py use these two (and :func:`worker`, :func:`with_kid`):

* :class:`SharedStore`: a Redis that other processes reach on a loopback port. With
  ``$REDIS_URL`` it is that Redis, through a relay in this process; without, it is fakeredis's
  ``TcpFakeServer`` (the Redis protocol on a TCP port) in this process, so no Redis needs to be
  installed. Either way :meth:`SharedStore.stop` takes the store away from every process at
  once: the relay or the fake server stops, its connections close, its port is freed.
* :class:`Fleet`: ``python -m labserver serve --workers N`` (gunicorn: a master and N worker
  processes) in a process group of its own, with helpers to reach a given worker over HTTP.

Nothing here outlives the process that made it: on Linux the kernel kills the gunicorn master
when this process dies (``PR_SET_PDEATHSIG``), and labserver.workers has each worker killed when
the master dies; :meth:`Fleet.stop` and :meth:`SharedStore.stop` run at interpreter exit too.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import queue
import select
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import requests

from ..lifetime import preexec_die_with_parent
from ..workers import WORKER_HEADER

ROOT = Path(__file__).resolve().parents[2]

#: Seconds for a fleet to start, and for a loop to reach the workers it wants.
DEADLINE = 30.0

# How often the store's threads look for stop(): it bounds how long stop() takes.
_POLL = 0.02


# --- the store ---------------------------------------------------------------------------------


class SharedStore:
    """A Redis that separate processes share, on a loopback port: ``url`` is their REDIS_URL.

    ``redis_url`` (default ``$REDIS_URL``): a real Redis, relayed; none: an in-process
    ``fakeredis.TcpFakeServer``. Starts at once; :meth:`stop` (or the end of a ``with`` block)
    closes the port and every connection, and waits for its threads.
    """

    def __init__(self, redis_url: str | None = None) -> None:
        upstream = os.environ.get("REDIS_URL") if redis_url is None else redis_url
        if upstream:
            self._server: socketserver.ThreadingTCPServer = _Relay(_address(upstream))
            self.kind = "the Redis at $REDIS_URL, relayed on a loopback port"
        else:
            import fakeredis

            self._server = fakeredis.TcpFakeServer(("127.0.0.1", 0))
            self.kind = "fakeredis (TcpFakeServer), in this process, on a loopback port"
        # Daemon threads, or an open connection would keep the interpreter from exiting (fakeredis
        # makes them non-daemon); stop() still joins them (block_on_close).
        self._server.daemon_threads = True
        self._server.block_on_close = True
        port = self._server.server_address[1]
        self.url = _local_url(upstream, port) if upstream else f"redis://127.0.0.1:{port}/0"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(_POLL,), name="shared-store", daemon=True
        )
        self._thread.start()
        self._finalizer = weakref.finalize(
            self, _stop_server, self._server, self._thread
        )  # at exit too

    @property
    def running(self) -> bool:
        """True until :meth:`stop`."""
        return self._finalizer.alive

    @property
    def port(self) -> int:
        """The loopback port the processes connect to."""
        return self._server.server_address[1]

    def client(self):
        """A redis-py client for this store, as the lab makes them."""
        from ..store import connect

        return connect(self.url)

    def stop(self) -> None:
        """Take the store away: refuse new connections, close the open ones. Safe twice."""
        self._finalizer()

    def __enter__(self) -> SharedStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SharedStore {self.url} · {self.kind}{'' if self.running else ' · stopped'}>"


def _stop_server(server: socketserver.ThreadingTCPServer, thread: threading.Thread) -> None:
    server.shutdown()  # TcpFakeServer's also tells its connection threads to end
    server.server_close()  # closes the port, joins the connection threads
    thread.join()


def _address(redis_url: str) -> tuple:
    """(family, address) of the Redis at ``redis_url``: redis:// and unix:// only."""
    parts = urlsplit(redis_url)
    if parts.scheme == "redis":
        return socket.AF_INET, (parts.hostname or "localhost", parts.port or 6379)
    if parts.scheme == "unix":
        return socket.AF_UNIX, parts.path
    raise ValueError(f"a shared store relays redis:// or unix:// URLs, not {parts.scheme}://")


def _local_url(redis_url: str, port: int) -> str:
    """``redis_url`` with its host and port replaced by the relay's (user, password, db kept)."""
    parts = urlsplit(redis_url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    if parts.scheme == "unix":  # unix:///path?db=N: the db is in the query
        db = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("db", "0")
        return f"redis://{netloc}/{db}"
    return urlunsplit(("redis", netloc, parts.path or "/0", parts.query, ""))


class _RelayHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        family, address = self.server.upstream
        try:
            upstream = socket.socket(family, socket.SOCK_STREAM)
            upstream.settimeout(1.0)
            upstream.connect(address)
        except OSError:
            return  # the client sees its connection closed, as with a Redis that is down
        # A client that never reads its replies fails its sendall, instead of holding stop().
        self.request.settimeout(1.0)
        with upstream:
            ends = {self.request: upstream, upstream: self.request}
            try:
                while not self.server.stopping.is_set():
                    readable, _, _ = select.select(list(ends), [], [], _POLL)
                    for end in readable:
                        data = end.recv(65536)
                        if not data:
                            return
                        ends[end].sendall(data)
            except OSError:
                return  # either side went away: close both


class _Relay(socketserver.ThreadingTCPServer):
    """Bytes between loopback clients and one upstream Redis, until :meth:`shutdown`."""

    allow_reuse_address = True

    def __init__(self, upstream: tuple) -> None:
        self.upstream = upstream
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _RelayHandler)

    def shutdown(self) -> None:
        self.stopping.set()
        super().shutdown()


# --- the worker processes ----------------------------------------------------------------------


def worker(response: requests.Response) -> int:
    """The PID of the worker process that answered ``response``."""
    return int(response.headers[WORKER_HEADER])


def with_kid(token: str, kid: str) -> str:
    """``token`` with its header's ``kid`` replaced (the signature no longer matches it)."""
    head, rest = token.split(".", 1)
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    encoded = base64.urlsafe_b64encode(json.dumps({**header, "kid": kid}).encode())
    return encoded.decode().rstrip("=") + "." + rest


class Fleet:
    """``python -m labserver serve --port 0 --workers N *args`` on the store at ``redis_url``,
    in a process group of its own; returns once the N workers run. ``env``: more variables
    (``LAB_<KEY>`` config). Each request is a new connection, so any worker may accept it."""

    def __init__(self, redis_url: str, workers: int = 3, *args: str, env: dict | None = None):
        # The last lines gunicorn printed (its access log too), for the errors that quote them.
        self.output: collections.deque[str] = collections.deque(maxlen=500)
        self._listening = threading.Event()  # then its lines no longer go to the start's queue
        command = [sys.executable, "-m", "labserver", "serve", "--port", "0"]
        command += ["--workers", str(workers), *args]
        environment = {**os.environ, "REDIS_URL": redis_url, **(env or {})}
        lines: queue.Queue[str | BaseException] = queue.Queue()
        # PR_SET_PDEATHSIG fires when the *thread* that forked the child ends: so the child is
        # started by a thread that lives exactly as long as it does (it reads its output).
        threading.Thread(
            target=self._run, args=(command, environment, lines), name="fleet", daemon=True
        ).start()
        try:
            first = lines.get()
        except BaseException:  # a kernel interrupt, say: stop the master the thread is starting
            first = lines.get(timeout=DEADLINE)
            if not isinstance(first, BaseException):
                _kill_group(first)
            raise
        if isinstance(first, BaseException):
            raise first
        self.process: subprocess.Popen = first
        self._finalizer = weakref.finalize(self, _kill_group, self.process)  # also at exit
        try:
            self._wait_for(workers, lines)
        except BaseException:  # the thread reading the output holds self: it is never collected
            self.stop()
            raise

    def _wait_for(self, workers: int, lines: queue.Queue) -> None:
        """Until the master says where it listens and its ``workers`` processes run."""
        end = time.monotonic() + DEADLINE
        while True:
            try:
                line = lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError("no 'on http://' line:\n" + "".join(self.output)) from None
            if " on http://127.0.0.1:" in line:
                self.url = line.split(" on ", 1)[1].split()[0]
                self._listening.set()
                break
        while len(self.workers()) < workers:  # gunicorn forks them after printing the line
            if time.monotonic() > end or self.process.poll() is not None:
                raise AssertionError(f"{workers} workers did not start:\n" + "".join(self.output))
            time.sleep(0.02)

    def _run(self, command: list[str], env: dict, lines: queue.Queue) -> None:
        try:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # its own process group: the master and every worker
                preexec_fn=preexec_die_with_parent(),
            )
        except OSError as exc:
            lines.put(exc)
            return
        lines.put(process)
        for line in process.stdout:
            self.output.append(line)
            if not self._listening.is_set():
                lines.put(line)
        process.wait()

    def get(self, path: str, **kwargs) -> requests.Response:
        """GET ``path`` on a new connection (gunicorn's sync workers close each one anyway)."""
        return requests.get(self.url + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        """POST ``path`` on a new connection."""
        return requests.post(self.url + path, timeout=10, **kwargs)

    def until(self, request, done, what: str) -> dict[int, requests.Response]:
        """Repeat ``request()`` until ``done(answers)``, where answers maps each worker PID
        that answered to its latest response; fails after :data:`DEADLINE` seconds."""
        answers: dict[int, requests.Response] = {}
        end = time.monotonic() + DEADLINE
        while not done(answers):
            assert time.monotonic() < end, f"{what}: only workers {sorted(answers)} answered"
            response = request()
            answers[worker(response)] = response
        return answers

    def every(self, request: Callable[[], requests.Response]) -> dict[int, requests.Response]:
        """Repeat ``request()`` until every worker running now has answered it: PID -> its
        latest response. ``request`` must be safe to repeat."""
        return {pid: answers[-1] for pid, answers in self.spread(request).items()}

    def spread(
        self, request: Callable[[], requests.Response]
    ) -> dict[int, list[requests.Response]]:
        """As :meth:`every`, with all of each worker's responses: PID -> its responses."""
        answers: dict[int, list[requests.Response]] = {}
        self.until(
            lambda: _noted(request(), answers), lambda a: self.workers() <= set(a), "every worker"
        )
        return answers

    def on(self, pids: set[int], request: Callable[[], requests.Response]) -> requests.Response:
        """Repeat ``request()`` until one of the workers ``pids`` answers; its response."""
        answers = self.until(request, lambda a: pids & set(a), f"workers {sorted(pids)}")
        return answers[min(pids & set(answers))]

    def workers(self) -> set[int]:
        """The PIDs of the master's worker processes now."""
        try:
            return {child.pid for child in psutil.Process(self.process.pid).children()}
        except psutil.NoSuchProcess:
            return set()

    def kill(self, pid: int) -> set[int]:
        """SIGKILL the worker ``pid``; returns the PIDs of its replacement(s), once gunicorn
        has started them and they answer."""
        before = self.workers()
        if pid not in before:
            raise ValueError(f"{pid} is not one of this fleet's workers {sorted(before)}")
        os.kill(pid, signal.SIGKILL)
        end = time.monotonic() + DEADLINE
        while not (new := self.workers() - before) or pid in self.workers():
            assert time.monotonic() < end, "gunicorn did not replace the killed worker"
            time.sleep(0.02)  # polling for the new process, not waiting for an expiry
        self.on(new, lambda: self.get("/health"))
        return new

    def left(self) -> int:
        """How many of the fleet's processes (master and workers) are alive: 0 after stop."""
        return alive_in_group(self.process.pid)

    @property
    def running(self) -> bool:
        """True until :meth:`stop` (or until the master exits)."""
        return self._finalizer.alive and self.process.poll() is None

    def stop(self, graceful: bool = True) -> None:
        """SIGTERM to the whole group (gunicorn stops its workers), then SIGKILL to whatever is
        left of it, so that no process outlives the fleet; ``graceful=False``: SIGKILL at once
        (gunicorn's graceful stop takes about half a second). Safe twice."""
        if not graceful and self._finalizer.alive:
            _signal_group(self.process, signal.SIGKILL)
        self._finalizer()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"{len(self.workers())} workers" if self.running else "stopped"
        return f"<Fleet {getattr(self, 'url', '?')} · gunicorn · {state}>"


def _noted(response: requests.Response, answers: dict) -> requests.Response:
    answers.setdefault(worker(response), []).append(response)
    return response


def _kill_group(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        if not _signal_group(process, sig):
            break  # the whole group is gone
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass
    process.wait(timeout=10)
    end = time.monotonic() + 10
    while alive_in_group(process.pid) and time.monotonic() < end:
        time.sleep(0.01)  # killed workers: gone in a moment, once the kernel has reaped them


def alive_in_group(pgid: int) -> int:
    """How many processes of the process group ``pgid`` are alive (zombies are not)."""
    alive = 0
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                alive += 1
        except (OSError, psutil.Error):
            pass  # it ended meanwhile
    return alive


def _signal_group(process: subprocess.Popen, sig: int) -> bool:
    """Send ``sig`` to the process group of ``process``; False if no process is left in it."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return False
    return True
