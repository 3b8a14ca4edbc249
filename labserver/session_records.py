"""Server-side session records: create, look up (with idle and absolute timeouts), delete.

A session is a hash in the store at ``lab:session:<id>``::

    user       the username it belongs to
    created    lab-clock seconds when it was made (for the absolute timeout)
    last_seen  lab-clock seconds of its last use (for the idle timeout)
    client     what the client said about itself (User-Agent), for the admin's list

The timeouts are decided here, against the lab clock. The store's own TTL only cleans up
records nobody asks for again; it never decides validity (it reads the wall clock, which a
notebook may have left behind with ``lab.clock.advance()``).

Exercise 01 asks the learner to write :func:`lookup_session`; this is the lab's own copy.
"""

from __future__ import annotations

import secrets

import redis

from .clock import LabClock
from .store import key

#: Bytes of randomness in a session ID (256 bits; OWASP asks for at least 64).
SESSION_ID_BYTES = 32


def session_key(session_id: str) -> str:
    """Store key of a session record: ``lab:session:<id>``."""
    return key("session", session_id)


def user_sessions_key(username: str) -> str:
    """Store key of the set of a user's session IDs: ``lab:user-sessions:<username>``."""
    return key("user-sessions", username)


def new_session_id() -> str:
    """A fresh opaque session ID: 256 random bits from ``secrets``, URL-safe base64."""
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def create_session(
    store: redis.Redis, clock: LabClock, username: str, *, client: str = "", ttl: int
) -> str:
    """Store a new session for ``username`` and return its ID.

    ``ttl`` (seconds) is the store's clean-up time, which should be at least the absolute timeout.
    """
    session_id = new_session_id()
    now = clock.now()
    pipe = store.pipeline(transaction=True)
    pipe.hset(session_key(session_id), mapping={
        "user": username, "created": now, "last_seen": now, "client": client[:200],
    })
    pipe.expire(session_key(session_id), ttl)
    pipe.sadd(user_sessions_key(username), session_id)
    pipe.execute()
    return session_id


def lookup_session(
    store: redis.Redis,
    clock: LabClock,
    session_id: str,
    *,
    idle_timeout: float,
    absolute_timeout: float,
) -> dict | None:
    """The live session record for ``session_id``, or None.

    None when the ID is unknown, when the session has been idle for ``idle_timeout`` seconds
    or more, or when it is ``absolute_timeout`` seconds old or older; a timed-out record is
    deleted. A live session's ``last_seen`` is set to now, in the store and in the answer.
    """
    record = store.hgetall(session_key(session_id))
    if not record:
        return None
    now = clock.now()
    try:
        created, last_seen = float(record["created"]), float(record["last_seen"])
        user = record["user"]
    except (KeyError, ValueError):
        # A half-written record (e.g. touched while being deleted): never trust it.
        delete_session(store, session_id)
        return None
    if now - created >= absolute_timeout or now - last_seen >= idle_timeout:
        delete_session(store, session_id, username=user)
        return None
    store.hset(session_key(session_id), "last_seen", now)
    return {**record, "created": created, "last_seen": now}


def delete_session(store: redis.Redis, session_id: str, *, username: str | None = None) -> bool:
    """Delete one session record (and its entry in the user's set); True if it existed."""
    if username is None:
        username = store.hget(session_key(session_id), "user")
    pipe = store.pipeline(transaction=True)
    pipe.delete(session_key(session_id))
    if username:
        pipe.srem(user_sessions_key(username), session_id)
    return bool(pipe.execute()[0])
