"""Checks for exercise 01: ``new_session_id`` and ``lookup_session`` with idle and absolute
timeouts.

Each test's docstring is the line a learner sees; each assert's message is the hint shown
for the first failure.
"""

import os
import random
import re
import time
import zlib

IDLE, ABSOLUTE = 900, 8 * 3600


def test_id_is_url_safe_text(impl):
    """A session ID is URL-safe text that can go into a cookie as it is."""
    session_id = impl.new_session_id()
    assert isinstance(session_id, str), "return a str (secrets.token_urlsafe does)"
    assert re.fullmatch(r"[A-Za-z0-9_-]+", session_id), (
        "only letters, digits, '-' and '_': no padding '=', no spaces"
    )


def test_id_carries_at_least_128_bits(impl):
    """A session ID carries at least 128 random bits."""
    assert len(impl.new_session_id()) >= 22, (
        "128 bits are 16 bytes, which URL-safe base64 writes as 22 characters: token_urlsafe(16) "
        "or more"
    )


def test_ids_never_repeat(impl):
    """10,000 IDs in a row are all different."""
    ids = {impl.new_session_id() for _ in range(10_000)}
    assert len(ids) == 10_000, "each call must give a fresh random ID"


def test_ids_look_random(impl):
    """1,000 IDs do not compress: there is no pattern in them (no counter, no timestamp)."""
    joined = "".join(impl.new_session_id() for _ in range(1000)).encode()
    assert len(zlib.compress(joined, 9)) >= 15_000, (
        "at least 128 random bits per ID, with no structure: secrets.token_urlsafe(16) or more"
    )


def test_ids_do_not_come_from_the_random_module(impl):
    """IDs stay unguessable when the random module is seeded (they do not come from it)."""
    random.seed(1)
    first = impl.new_session_id()
    random.seed(1)
    assert impl.new_session_id() != first, (
        "the random module is predictable (seed it and it repeats): use secrets instead"
    )


#: The time module's clocks: an ID made from any of them can be guessed from when it was made.
CLOCKS = (
    "time",
    "time_ns",
    "perf_counter",
    "perf_counter_ns",
    "monotonic",
    "monotonic_ns",
    "process_time",
    "process_time_ns",
    "thread_time",
    "thread_time_ns",
)


def test_ids_do_not_depend_on_the_time(impl, monkeypatch):
    """IDs stay different when every clock stands still (they do not come from the time)."""
    for name in CLOCKS:
        real = getattr(time, name)
        stopped = 1_800_000_000_000_000_000 if name.endswith("_ns") else 1_800_000_000.0
        frozen = lambda stopped=stopped: stopped  # noqa: E731
        monkeypatch.setattr(time, name, frozen)
        for attr, value in list(vars(impl).items()):  # "from time import perf_counter_ns" too
            if value is real:
                monkeypatch.setattr(impl, attr, frozen)
    assert impl.new_session_id() != impl.new_session_id(), (
        "a timestamp can be guessed, even hashed: take the ID from secrets, not from a clock"
    )


def test_ids_draw_128_bits_from_the_os_random_source(impl, monkeypatch):
    """Each ID draws at least 16 bytes (128 bits) from the OS's cryptographic random source."""
    real, drawn = os.urandom, []

    def counting_urandom(n):
        drawn[-1] += n
        return real(n)

    monkeypatch.setattr(os, "urandom", counting_urandom)
    monkeypatch.setattr(random, "_urandom", counting_urandom)  # what secrets draws from
    for attr, value in list(vars(impl).items()):  # "from os import urandom" too
        if value is real:
            monkeypatch.setattr(impl, attr, counting_urandom)
    for _ in range(10):
        drawn.append(0)
        impl.new_session_id()
    assert min(drawn) >= 16, (
        "an ID is as hard to guess as the random bytes behind it: 16 or more from secrets; "
        "hashing fewer bytes, or a clock, adds nothing"
    )


def put_session(impl, store, clock, sid="s1", user="alice", age=0.0, idle=0.0):
    """Store a record created ``age`` s ago and last used ``idle`` s ago."""
    now = clock.now()
    store.hset(
        impl.session_key(sid),
        mapping={
            "user": user,
            "created": now - age,
            "last_seen": now - idle,
            "client": "pytest",
        },
    )


def lookup(impl, store, clock, sid="s1"):
    return impl.lookup_session(store, clock, sid, idle_timeout=IDLE, absolute_timeout=ABSOLUTE)


def test_unknown_id_gives_none(impl, store, clock):
    """An unknown session ID gives None."""
    assert lookup(impl, store, clock, "no-such-id") is None, (
        "hgetall of a missing key returns {}: return None in that case"
    )


def test_fresh_session_is_returned(impl, store, clock):
    """A fresh session is found, with its user."""
    put_session(impl, store, clock)
    record = lookup(impl, store, clock)
    assert isinstance(record, dict), "return the record as a dict (the hgetall result, updated)"
    assert record["user"] == "alice", "the record keeps the fields the store holds, such as 'user'"


def test_times_come_back_as_floats(impl, store, clock):
    """'created' and 'last_seen' come back as floats."""
    put_session(impl, store, clock, age=30)
    record = lookup(impl, store, clock)
    assert record is not None, "a 30 s old session is live"
    assert isinstance(record["created"], float) and isinstance(record["last_seen"], float), (
        "the store holds strings: convert created and last_seen with float()"
    )
    assert record["created"] == clock.now() - 30, "created is the value from the store"


def test_lookup_refreshes_last_seen(impl, store, clock):
    """A lookup sets last_seen to now, in the answer and in the store."""
    put_session(impl, store, clock, age=100, idle=100)
    record = lookup(impl, store, clock)
    assert record is not None, "a session idle for 100 s (timeout 900 s) is live"
    assert record["last_seen"] == clock.now(), (
        "the answer's last_seen is the new value, clock.now()"
    )
    stored = float(store.hget(impl.session_key("s1"), "last_seen"))
    assert stored == clock.now(), (
        "write the new last_seen back with store.hset(key, 'last_seen', now)"
    )


def test_idle_session_is_refused_and_deleted(impl, store, clock):
    """A session idle for the idle timeout or longer gives None and is deleted."""
    put_session(impl, store, clock)
    clock.advance(IDLE)
    assert lookup(impl, store, clock) is None, (
        "idle for exactly idle_timeout counts as timed out: compare with >="
    )
    assert not store.exists(impl.session_key("s1")), "delete a timed-out record from the store"


def test_activity_keeps_a_session_alive(impl, store, clock):
    """Regular use keeps a session alive past the idle timeout."""
    put_session(impl, store, clock)
    for _ in range(3):
        clock.advance(IDLE - 1)
        assert lookup(impl, store, clock) is not None, (
            "each lookup must move last_seen forward, or the idle timer never restarts"
        )


def test_absolute_timeout_wins_over_activity(impl, store, clock):
    """Even a busy session ends at the absolute timeout."""
    put_session(impl, store, clock, age=ABSOLUTE - 10, idle=0)
    assert lookup(impl, store, clock) is not None, "10 s before the absolute timeout it is live"
    clock.advance(10)
    assert lookup(impl, store, clock) is None, (
        "compare clock.now() - created with absolute_timeout too (>=), not only last_seen"
    )
    assert not store.exists(impl.session_key("s1")), "delete a timed-out record from the store"


def test_uses_the_lab_clock_not_the_wall_clock(impl, store, clock):
    """Time is the lab clock's: advancing it expires the session."""
    put_session(impl, store, clock)
    clock.advance(ABSOLUTE + 1)
    assert lookup(impl, store, clock) is None, (
        "use clock.now(), never time.time(): the lab clock may be ahead of the wall clock"
    )
