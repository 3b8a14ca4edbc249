"""labserver.experiments.processes: a store that separate processes share, and gunicorn on it.

Without a real Redis: the store is fakeredis's TcpFakeServer in this process (what chapter 10
uses when REDIS_URL is unset), or the relay in front of one. The real-Redis fleet tests are in
tests/test_gunicorn_workers.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import jwt
import pytest
import redis

from labserver.experiments.processes import (
    DEADLINE,
    ROOT,
    Fleet,
    SharedStore,
    _local_url,
    alive_in_group,
    with_kid,
    worker,
)
from labserver.users import PASSWORDS

posix = pytest.mark.skipif(os.name != "posix", reason="gunicorn runs on POSIX systems only")
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG")

BOB = {"username": "bob", "password": PASSWORDS["bob"]}
ALICE = {"username": "alice", "password": PASSWORDS["alice"]}


def eventually(condition, what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < end, what
        time.sleep(0.02)  # polling for processes to end, not waiting for an expiry


def store_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t is not threading.main_thread()}


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_the_fake_store_is_shared_by_separate_processes():
    with SharedStore(redis_url="") as store:
        assert store.url.startswith("redis://127.0.0.1:") and "fakeredis" in store.kind
        for value in ("one", "two"):  # two processes, one after the other
            subprocess.run(
                [sys.executable, "-c", "import redis, sys; redis.Redis.from_url(sys.argv[1])"
                 ".rpush('lab:seen', sys.argv[2])", store.url, value],
                check=True, timeout=60,
            )  # fmt: skip
        assert store.client().lrange("lab:seen", 0, -1) == ["one", "two"]


def test_stop_closes_the_port_and_every_connection_and_ends_its_threads():
    before = store_threads()
    store = SharedStore(redis_url="")
    client = store.client()
    client.set("lab:k", "v")  # an open connection, with its own thread in the server
    assert store_threads() - before
    store.stop()
    assert not store.running
    assert refused(store.port)
    with pytest.raises(redis.exceptions.ConnectionError):
        client.get("lab:k")
    assert store_threads() == before
    store.stop()  # twice is fine


def test_watch_multi_exec_sees_another_connections_write():
    # The lab's refresh tokens and users change in WATCH/MULTI/EXEC transactions.
    with SharedStore(redis_url="") as store:
        first, second = store.client(), store.client()
        first.set("lab:family", "ok")
        with first.pipeline() as pipe:
            pipe.watch("lab:family")
            second.set("lab:family", "revoked")  # another worker, meanwhile
            pipe.multi()
            pipe.set("lab:family", "rotated")
            with pytest.raises(redis.exceptions.WatchError):
                pipe.execute()
        assert first.get("lab:family") == "revoked"


def test_the_relay_reaches_the_real_store_until_it_stops():
    with SharedStore(redis_url="") as upstream:
        relay = SharedStore(redis_url=upstream.url)
        assert "relayed" in relay.kind and relay.port != upstream.port
        relay.client().set("lab:via", "relay")
        assert upstream.client().get("lab:via") == "relay"
        relay.stop()
        assert refused(relay.port)
        assert upstream.client().get("lab:via") == "relay"  # only the relay went away


def test_a_relay_to_a_redis_with_a_password_knows_its_port():
    with SharedStore(redis_url="") as upstream:
        with SharedStore(redis_url=f"redis://:pw@127.0.0.1:{upstream.port}/0") as relay:
            assert relay.url == f"redis://:pw@127.0.0.1:{relay.port}/0"


def test_the_relayed_url_keeps_credentials_and_database():
    assert _local_url("redis://:pw@10.0.0.5:6380/15", 4000) == "redis://:pw@127.0.0.1:4000/15"
    assert _local_url("redis://localhost", 4000) == "redis://127.0.0.1:4000/0"
    assert _local_url("unix:///run/redis.sock?db=3", 4000) == "redis://127.0.0.1:4000/3"
    with pytest.raises(ValueError, match="rediss://"):
        SharedStore(redis_url="rediss://example.test:6380/0")


def test_with_kid_changes_only_the_kid():
    token = jwt.encode({"sub": "alice"}, "k" * 32, algorithm="HS256", headers={"kid": "real"})
    changed = with_kid(token, "made-up")
    assert jwt.get_unverified_header(changed) == {
        **jwt.get_unverified_header(token),
        "kid": "made-up",
    }
    assert changed.split(".")[1:] == token.split(".")[1:]


@pytest.fixture
def fake_fleet():
    """Two gunicorn workers on a fakeredis TcpFakeServer in this process."""
    store = SharedStore(redis_url="")
    fleet = Fleet(store.url, 2, env={"LAB_REFRESH_TOKENS": "true"})
    yield fleet, store
    fleet.stop()
    store.stop()


@posix
def test_gunicorn_workers_share_sessions_and_refresh_tokens_through_the_fake_store(fake_fleet):
    fleet, _ = fake_fleet
    login = fleet.post("/session/login", json=BOB)
    answers = fleet.every(lambda: fleet.get("/session/me", cookies=login.cookies))
    assert len(answers) == 2 and {r.json()["username"] for r in answers.values()} == {"bob"}

    issued = fleet.post("/oauth/token", json=ALICE).json()
    grant = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    refreshed = fleet.post("/oauth/token", json=grant)
    assert refreshed.status_code == 200, refreshed.text
    reused = fleet.post("/oauth/token", json=grant)  # the rotated one, again: reuse
    assert reused.status_code == 400 and "reuse detected" in reused.json()["error_description"]
    rotated = {**grant, "refresh_token": refreshed.json()["refresh_token"]}
    family = fleet.post("/oauth/token", json=rotated)
    assert family.status_code == 400, "the reuse revoked the whole family"


@posix
def test_when_the_fake_store_stops_sessions_fail_closed_and_jwts_still_pass(fake_fleet):
    fleet, store = fake_fleet
    login = fleet.post("/session/login", json=BOB)
    bearer = {"Authorization": "Bearer " + fleet.post("/oauth/token", json=ALICE).json()[
        "access_token"]}  # fmt: skip
    store.stop()
    sessions = fleet.every(lambda: fleet.get("/session/me", cookies=login.cookies))
    jwts = fleet.every(lambda: fleet.get("/api/me", headers=bearer))
    assert [(r.status_code, r.json()["error"]) for r in sessions.values()] == [
        (503, "store_unavailable")
    ] * 2
    assert [r.status_code for r in jwts.values()] == [200, 200]


@posix
def test_kill_returns_the_replacement_and_refuses_other_pids(fake_fleet):
    fleet, _ = fake_fleet
    victim = worker(fleet.get("/health"))
    new = fleet.kill(victim)
    assert len(new) == 1 and victim not in fleet.workers() and new <= fleet.workers()
    with pytest.raises(ValueError, match="not one of this fleet's workers"):
        fleet.kill(os.getpid())


@posix
@pytest.mark.parametrize("graceful", [True, False])
def test_stop_leaves_no_process_of_the_fleet(graceful):
    with SharedStore(redis_url="") as store:
        fleet = Fleet(store.url, 2)
        assert fleet.left() == 3  # the master and two workers
        fleet.stop(graceful=graceful)
        assert fleet.left() == 0 and not fleet.running


@posix
@linux
def test_workers_die_with_their_master_at_once():
    # Without PR_SET_PDEATHSIG a worker notices a dead master at its next check, up to 15 s
    # later, and says "Parent changed, shutting down"; with it, the kernel kills it silently.
    with SharedStore(redis_url="") as store:
        fleet = Fleet(store.url, 2)
        try:
            os.kill(fleet.process.pid, signal.SIGKILL)
            fleet.process.wait(timeout=10)
            eventually(lambda: fleet.left() == 0, "a worker outlived its master")
            assert not any("Parent changed" in line for line in fleet.output), fleet.output
        finally:
            fleet.stop()


@posix
@linux
def test_the_fleet_dies_with_the_process_that_started_it():
    # A kernel that dies (SIGKILL, no cleanup) takes gunicorn's master and workers with it.
    code = (
        "import sys; from labserver.experiments.processes import Fleet, SharedStore\n"
        "store = SharedStore(redis_url='')\n"
        "fleet = Fleet(store.url, 2)\n"
        "print(fleet.process.pid, flush=True)\n"
        "sys.stdin.read()\n"
    )
    kernel = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        master = int(kernel.stdout.readline())  # the group's ID too
        assert alive_in_group(master) == 3
        kernel.kill()
        kernel.wait(timeout=10)
        eventually(lambda: alive_in_group(master) == 0, "gunicorn outlived its parent")
    finally:
        kernel.kill()
        kernel.wait()
        try:
            os.killpg(master, signal.SIGKILL)
        except (ProcessLookupError, NameError):
            pass


def test_a_process_with_a_store_and_an_open_connection_still_exits():
    # TcpFakeServer's connection threads are not daemon threads: left so, the interpreter (a
    # notebook kernel) would wait at exit for a connection that a worker never closes.
    code = (
        "from labserver.experiments.processes import SharedStore\n"
        "store = SharedStore(redis_url='')\n"
        "client = store.client()\n"
        "client.set('lab:k', 'v')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=30, capture_output=True)
    assert run.returncode == 0, run.stderr


@posix
@pytest.mark.parametrize("when", ["before the master is known", "waiting for the workers"])
def test_an_interrupt_while_a_fleet_starts_leaves_no_process(monkeypatch, when):
    """A kernel interrupt (KeyboardInterrupt) in Fleet(...) stops what it started: the thread
    that reads the master's output holds the fleet, so it would never be collected."""
    from labserver.experiments import processes

    started: list[subprocess.Popen] = []
    popen = subprocess.Popen

    def recorded(*args, **kwargs):
        started.append(popen(*args, **kwargs))
        return started[-1]

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    class FirstGetInterrupted(processes.queue.Queue):
        def get(self, *args, **kwargs):
            if not getattr(self, "interrupted", False):
                self.interrupted = True
                raise KeyboardInterrupt
            return super().get(*args, **kwargs)

    monkeypatch.setattr(processes.subprocess, "Popen", recorded)
    if when == "waiting for the workers":
        monkeypatch.setattr(Fleet, "workers", interrupt)
    else:
        monkeypatch.setattr(processes.queue, "Queue", FirstGetInterrupted)
    with SharedStore(redis_url="") as store:
        try:
            with pytest.raises(KeyboardInterrupt):
                Fleet(store.url, 2)
            eventually(lambda: started, "the fleet's master was never started")
            assert alive_in_group(started[0].pid) == 0, "the interrupted fleet still runs"
        finally:
            for process in started:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
