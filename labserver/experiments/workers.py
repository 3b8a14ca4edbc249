"""Requests per second against gunicorn worker count, for a session and a JWT endpoint.

``python -m labserver.experiments.workers [--workers 1 2 4] [--seconds 5] [--rounds 3]``

For each worker count, ``serve --workers N`` (gunicorn, sync workers; N = 1 too) runs on one
real Redis: ``REDIS_URL``, or else a throwaway ``redis-server`` on a free loopback port (Debian's
``redis-server`` must be installed). Clients in two processes of eight threads each send
``GET /session/me`` with a session cookie (the session is read from the store) and
``GET /api/me`` with an ES256 bearer token (nothing is read from the store), one new connection
per request, as gunicorn's sync workers close each one. It prints the median requests per
second of ``--rounds`` runs (and their range), and each median as a ratio to the first worker
count's. The load generator shares the machine's cores with the workers: on a 2-core machine
the figures say what a laptop does, not what a server would.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from ..lifetime import preexec_die_with_parent

ROOT = Path(__file__).resolve().parents[2]

CLIENT_PROCESSES = 2
THREADS_PER_PROCESS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def redis_server():
    """``REDIS_URL``, or a throwaway redis-server on a free loopback port for the block."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("set REDIS_URL, or install redis-server (Debian: apt-get install redis-server)")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int, deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


@contextmanager
def gunicorn(workers: int, redis_url: str):
    """The lab under gunicorn with ``workers`` processes; yields its base URL."""
    port = _free_port()
    code = (
        "from labserver.workers import serve; "
        f"serve({{'SERVICE_NAME': 'lab'}}, port={port}, workers={workers}, redis_url={redis_url!r})"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,  # its access log: read, it would cost the measurement a core
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=preexec_die_with_parent(),  # a measurement killed leaves no gunicorn behind
    )
    try:
        _wait_for_port(port)
        url = f"http://127.0.0.1:{port}"
        seen: set[str] = set()
        end = time.monotonic() + 30
        while len(seen) < workers and time.monotonic() < end:  # every worker booted
            seen.add(_get(url, "/health", {}).getheader("X-Lab-Worker-Pid"))
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _get(url: str, path: str, headers: dict) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status}")
    return response


def _client(url: str, path: str, headers: dict, seconds: float, start: float, out) -> None:
    """One client process: threads sending requests from ``start`` for ``seconds``."""
    counts = [0] * THREADS_PER_PROCESS

    def loop(i: int) -> None:
        while time.time() < start:
            time.sleep(0.001)
        while time.time() < start + seconds:
            _get(url, path, headers)
            counts[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(THREADS_PER_PROCESS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(sum(counts))


def rate(url: str, path: str, headers: dict, seconds: float) -> float:
    """Requests per second that the client processes got answered together."""
    out = multiprocessing.Queue()
    start = time.time() + 0.5
    processes = [
        multiprocessing.Process(target=_client, args=(url, path, headers, seconds, start, out))
        for _ in range(CLIENT_PROCESSES)
    ]
    for process in processes:
        process.start()
    total = sum(out.get(timeout=seconds + 60) for _ in processes)
    for process in processes:
        process.join()
    return total / seconds


def credentials(url: str) -> dict[str, dict]:
    """Headers for each endpoint: a session cookie, an ES256 bearer token (alice's)."""
    import requests

    from ..users import PASSWORDS

    login = {"username": "alice", "password": PASSWORDS["alice"]}
    with requests.Session() as http:
        http.trust_env = False
        session = http.post(url + "/session/login", json=login, timeout=10)
        cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        access = http.post(url + "/oauth/token", json={**login, "alg": "ES256"}, timeout=10)
    return {
        "/session/me": {"Cookie": cookie},
        "/api/me": {"Authorization": f"Bearer {access.json()['access_token']}"},
    }


def measure(
    worker_counts: list[int], seconds: float, rounds: int
) -> dict[int, dict[str, list[float]]]:
    """Requests per second of each round, per worker count and endpoint (rounds interleaved,
    so that a busy moment of the machine spreads over every worker count)."""
    results: dict[int, dict[str, list[float]]] = {n: {} for n in worker_counts}
    with redis_server() as redis_url:
        for _ in range(rounds):
            for workers in worker_counts:
                with gunicorn(workers, redis_url) as url:
                    for path, headers in credentials(url).items():
                        results[workers].setdefault(path, []).append(
                            rate(url, path, headers, seconds)
                        )
    return results


def table(results: dict[int, dict[str, list[float]]]) -> str:
    """Medians (with the rounds' range) per worker count, and each median as a ratio to the
    first worker count's."""
    paths = ("/session/me", "/api/me")
    medians = {n: {p: statistics.median(r[p]) for p in paths} for n, r in results.items()}
    first = next(iter(medians.values()))
    lines = [f"{'workers':>7}  {'session /session/me':>34}  {'JWT /api/me':>34}"]
    for workers, rates in medians.items():
        cells = [
            f"{rates[p]:5.0f} req/s ({min(results[workers][p]):4.0f}-"
            f"{max(results[workers][p]):4.0f})  x{rates[p] / first[p]:4.2f}"
            for p in paths
        ]
        lines.append(f"{workers:>7}  {cells[0]:>34}  {cells[1]:>34}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m labserver.experiments.workers")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} cores; {CLIENT_PROCESSES}x{THREADS_PER_PROCESS} client threads")
    print(table(measure(args.workers, args.seconds, args.rounds)))


if __name__ == "__main__":
    main()
