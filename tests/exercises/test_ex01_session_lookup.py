"""Checks for exercise 01: ``lookup_session`` with idle and absolute timeouts.

Each test's docstring is the line a learner sees; each assert's message is the hint shown
for the first failure.
"""

IDLE, ABSOLUTE = 900, 8 * 3600


def put_session(impl, store, clock, sid="s1", user="alice", age=0.0, idle=0.0):
    """Store a record created ``age`` s ago and last used ``idle`` s ago."""
    now = clock.now()
    store.hset(impl.session_key(sid), mapping={
        "user": user, "created": now - age, "last_seen": now - idle, "client": "pytest",
    })


def lookup(impl, store, clock, sid="s1"):
    return impl.lookup_session(store, clock, sid, idle_timeout=IDLE, absolute_timeout=ABSOLUTE)


def test_unknown_id_gives_none(impl, store, clock):
    """An unknown session ID gives None."""
    assert lookup(impl, store, clock, "no-such-id") is None, \
        "hgetall of a missing key returns {}: return None in that case"


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
    assert isinstance(record["created"], float) and isinstance(record["last_seen"], float), \
        "the store holds strings: convert created and last_seen with float()"
    assert record["created"] == clock.now() - 30, "created is the value from the store"


def test_lookup_refreshes_last_seen(impl, store, clock):
    """A lookup sets last_seen to now, in the answer and in the store."""
    put_session(impl, store, clock, age=100, idle=100)
    record = lookup(impl, store, clock)
    assert record is not None, "a session idle for 100 s (timeout 900 s) is live"
    assert record["last_seen"] == clock.now(), "the answer's last_seen is the new value, clock.now()"
    stored = float(store.hget(impl.session_key("s1"), "last_seen"))
    assert stored == clock.now(), "write the new last_seen back with store.hset(key, 'last_seen', now)"


def test_idle_session_is_refused_and_deleted(impl, store, clock):
    """A session idle for the idle timeout or longer gives None and is deleted."""
    put_session(impl, store, clock)
    clock.advance(IDLE)
    assert lookup(impl, store, clock) is None, \
        "idle for exactly idle_timeout counts as timed out: compare with >="
    assert not store.exists(impl.session_key("s1")), "delete a timed-out record from the store"


def test_activity_keeps_a_session_alive(impl, store, clock):
    """Regular use keeps a session alive past the idle timeout."""
    put_session(impl, store, clock)
    for _ in range(3):
        clock.advance(IDLE - 1)
        assert lookup(impl, store, clock) is not None, \
            "each lookup must move last_seen forward, or the idle timer never restarts"


def test_absolute_timeout_wins_over_activity(impl, store, clock):
    """Even a busy session ends at the absolute timeout."""
    put_session(impl, store, clock, age=ABSOLUTE - 10, idle=0)
    assert lookup(impl, store, clock) is not None, "10 s before the absolute timeout it is live"
    clock.advance(10)
    assert lookup(impl, store, clock) is None, \
        "compare clock.now() - created with absolute_timeout too (>=), not only last_seen"
    assert not store.exists(impl.session_key("s1")), "delete a timed-out record from the store"


def test_uses_the_lab_clock_not_the_wall_clock(impl, store, clock):
    """Time is the lab clock's: advancing it expires the session."""
    put_session(impl, store, clock)
    clock.advance(ABSOLUTE + 1)
    assert lookup(impl, store, clock) is None, \
        "use clock.now(), never time.time(): the lab clock may be ahead of the wall clock"
