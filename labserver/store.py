"""The lab's store: one redis-py client for everything stateful.

Sessions, deny lists, refresh-token families and users' token versions all live here, under
keys that start with ``lab:`` (so a real Redis can be shared: the lab never touches other keys).

* By default the store is an embedded `fakeredis` server, in this process: the lab's server
  thread and the notebook share it, so a learner can look at exactly what the server stored.
  Its keys expire by the lab clock (see :func:`connect`), so a TTL runs out when lab time
  passes, the way a real Redis's would when real time passes.
* With a URL (``start_lab(redis_url=...)`` or the ``REDIS_URL`` environment variable) the same
  code talks to a real Redis server instead. Nothing else changes.

Values come back as ``str`` (``decode_responses=True``): easier to read in a notebook.
"""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from collections.abc import Iterator
from contextvars import ContextVar

import fakeredis
import redis

PREFIX = "lab:"

# A real Redis that is down must fail fast (a 503 in milliseconds), not hang a notebook cell.
_TIMEOUTS = {"socket_connect_timeout": 1.0, "socket_timeout": 2.0}

#: The exceptions that mean "the store could not be reached"; the app answers them with 503.
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


# The round-trip counter of the request being handled (None outside a request).
_round_trips: ContextVar[list[int] | None] = ContextVar("lab_store_round_trips", default=None)


def key(*parts: str) -> str:
    """The store key for ``parts``: ``key("session", sid)`` is ``"lab:session:<sid>"``."""
    return PREFIX + ":".join(parts)


def redis_url_from_env() -> str | None:
    """``REDIS_URL`` from the environment, or None when unset or empty."""
    return os.environ.get("REDIS_URL") or None


def connect(redis_url: str | None = None, clock=None) -> redis.Redis:
    """A client for a real Redis at ``redis_url``, or for a new embedded fakeredis server.

    With a ``clock`` (a :class:`~labserver.clock.LabClock`), the embedded server keeps time by
    it: ``EXPIRE``, ``SET ... EX`` and ``TTL`` count lab seconds, so moving the lab clock
    expires keys. A real Redis always counts real seconds. Connecting is lazy in redis-py: an
    unreachable server shows up on the first command.
    """
    if redis_url:
        return redis.Redis.from_url(redis_url, decode_responses=True, **_TIMEOUTS)
    server = fakeredis.FakeServer()
    if clock is not None:
        _keep_lab_time(server, clock)
    return fakeredis.FakeRedis(server=server, decode_responses=True)


def _keep_lab_time(server: fakeredis.FakeServer, clock) -> None:
    # fakeredis stamps each database with time.time() before every command and expires keys
    # against that stamp. A database whose "time" is the lab clock (and ignores the stamp)
    # makes the embedded store expire keys on lab time. This reaches into fakeredis's Database
    # class (pinned version); tests/test_store.py checks that it still works.
    from fakeredis._core._database import Database

    class LabTimeDatabase(Database):
        time = property(lambda self: clock.now(), lambda self, value: None)

    server.dbs = defaultdict(lambda: LabTimeDatabase(server.lock))


def is_embedded(store: redis.Redis) -> bool:
    """True for the in-process fakeredis store, False for a real Redis server."""
    return isinstance(store, fakeredis.FakeRedis)


def describe(store: redis.Redis) -> str:
    """Where the store lives, in words: ``embedded fakeredis`` or ``redis://host:port/db``."""
    if is_embedded(store):
        return "embedded fakeredis"
    kwargs = store.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    host, port, db = kwargs.get("host", "localhost"), kwargs.get("port", 6379), kwargs.get("db", 0)
    return f"redis://{host}:{port}/{db}"


def lab_keys(store: redis.Redis, pattern: str = "*") -> list[str]:
    """The lab's keys matching ``pattern`` (after the ``lab:`` prefix), sorted."""
    return sorted(store.scan_iter(match=PREFIX + pattern, count=500))


def snapshot(store: redis.Redis, pattern: str = "*") -> dict[str, object]:
    """Every ``lab:`` key matching ``pattern`` with its value (a str, dict or set by type): what
    the store holds, to look at or search in a notebook."""
    values: dict[str, object] = {}
    for name in lab_keys(store, pattern):
        kind = store.type(name)
        values[name] = (
            store.hgetall(name)
            if kind == "hash"
            else store.smembers(name)
            if kind == "set"
            else store.get(name)
            if kind == "string"
            else f"<{kind}>"
        )
    return values


def delete_lab_keys(store: redis.Redis) -> int:
    """Delete every ``lab:`` key (and nothing else); returns how many were deleted."""
    doomed = lab_keys(store)
    return store.delete(*doomed) if doomed else 0


@contextlib.contextmanager
def outage(store: redis.Redis) -> Iterator[None]:
    """Make ``store`` unreachable inside the ``with`` block, for everyone using this client.

    The failure is real as far as redis-py is concerned (a ``ConnectionError`` on every
    command), so the lab's fail-closed path runs exactly as it would on a crashed Redis:
    fakeredis is told to emulate a lost connection; a real Redis client is pointed at a
    socket that does not exist.
    """
    if is_embedded(store):
        server = store.connection_pool.connection_kwargs["server"]
        server.connected = False
        try:
            yield
        finally:
            server.connected = True
    else:
        real_pool = store.connection_pool
        store.connection_pool = redis.ConnectionPool(
            connection_class=redis.UnixDomainSocketConnection,
            path="/nonexistent/jwt-lab-store-outage.sock",
            decode_responses=True,
        )
        try:
            yield
        finally:
            store.connection_pool.disconnect()
            store.connection_pool = real_pool


def count_round_trips(store: redis.Redis) -> redis.Redis:
    """Make ``store`` count its round trips into the request being handled (see
    :func:`counting_round_trips`); calls made outside a request are not counted.

    A round trip is one write of commands to the server followed by reading the answer: one
    command, one whole pipeline, or one step of a WATCH block. Every one goes through the
    connection's ``send_packed_command``, so that is where the count is taken. redis-py has no
    hook for this, so each connection the pool hands out is wrapped once.
    """
    pool = store.connection_pool
    if getattr(pool, "_lab_counted", False):
        return store
    get_connection = pool.get_connection

    def counted_connection(*args, **kwargs):
        connection = get_connection(*args, **kwargs)
        if not getattr(connection, "_lab_counted", False):
            send = connection.send_packed_command

            def counted_send(*send_args, **send_kwargs):
                counter = _round_trips.get()
                if counter is not None:
                    counter[0] += 1
                return send(*send_args, **send_kwargs)

            connection.send_packed_command = counted_send
            connection._lab_counted = True
        return connection

    pool.get_connection = counted_connection
    pool._lab_counted = True
    return store


@contextlib.contextmanager
def counting_round_trips() -> Iterator[list[int]]:
    """``with counting_round_trips() as n:`` store round trips made inside land in ``n[0]``."""
    counter = [0]
    token = _round_trips.set(counter)
    try:
        yield counter
    finally:
        _round_trips.reset(token)
