"""Server-side session records: create, look up (with idle and absolute timeouts), revoke.

A session is a hash in the store at ``lab:session:<id>``::

    user       the username it belongs to (roles are NOT copied here: they are read from the
               user's record on each request, so an admin's change applies at once)
    created    lab-clock seconds when it was made (for the absolute timeout)
    last_seen  lab-clock seconds of its last use (for the idle timeout)
    client     what the client said about itself (its User-Agent), for the admin's list
    csrf       the session's CSRF token (the synchronizer-token pattern)

and each user has a set of their session IDs at ``lab:user-sessions:<username>`` (for
"log out everywhere" and the admin's list).

The timeouts are decided here, against the lab clock. The store's own TTL only cleans up
records nobody asks for again; it never decides validity (it reads the wall clock, which a
notebook may have left behind with ``lab.clock.advance()``).

Exercises 01 to 03 ask the learner to write :func:`new_session_id`, :func:`lookup_session`,
:func:`logout_everywhere` and :func:`login`; this module is the lab's own copy.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import redis

from .clock import LabClock
from .store import key
from .timefmt import duration
from .users import user_key

#: Bytes of randomness in a session ID: 256 bits (OWASP asks for at least 64 bits of entropy).
SESSION_ID_BYTES = 32
#: What a well-formed session ID looks like (43 characters of URL-safe base64).
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")


def session_key(session_id: str) -> str:
    """Store key of a session record: ``lab:session:<id>``."""
    return key("session", session_id)


def user_sessions_key(username: str) -> str:
    """Store key of the set of a user's session IDs: ``lab:user-sessions:<username>``."""
    return key("user-sessions", username)


def new_session_id() -> str:
    """A fresh opaque session ID: 256 random bits from ``secrets``, URL-safe base64."""
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def session_handle(session_id: str) -> str:
    """A name for a session that is safe to show an admin: a hash, not the bearer secret.

    An admin can revoke a session by its handle, but cannot present a handle as a cookie.
    """
    return hashlib.sha256(session_id.encode()).hexdigest()[:16]


def create_session(
    store: redis.Redis, clock: LabClock, username: str, *, client: str = "", ttl: int
) -> str:
    """Store a new session for ``username`` and return its ID.

    ``ttl`` (seconds) is the store's clean-up time, at least the absolute timeout.
    """
    session_id = new_session_id()
    now = clock.now()
    pipe = store.pipeline(transaction=True)
    pipe.hset(
        session_key(session_id),
        mapping={
            "user": username,
            "created": now,
            "last_seen": now,
            "client": client[:200],
            "csrf": secrets.token_urlsafe(32),
        },
    )
    pipe.expire(session_key(session_id), ttl)
    pipe.sadd(user_sessions_key(username), session_id)
    pipe.expire(user_sessions_key(username), ttl)
    pipe.execute()
    return session_id


@dataclass(frozen=True)
class Lookup:
    """What a session lookup found: the live record, or why there is none."""

    record: dict | None
    reason: str = ""  # why ``record`` is None, in words


def find_session(
    store: redis.Redis,
    clock: LabClock,
    session_id: str,
    *,
    idle_timeout: float,
    absolute_timeout: float,
    touch: bool = True,
) -> Lookup:
    """Look a session up and decide, against the lab clock, whether it is still live.

    A timed-out record is deleted. A live one gets ``last_seen = now`` (unless ``touch`` is
    False), and comes back with ``created``/``last_seen`` as floats.
    """
    if not SESSION_ID_PATTERN.fullmatch(session_id):
        return Lookup(
            None, "the session ID is malformed (expected 43 characters of URL-safe base64)"
        )
    record = store.hgetall(session_key(session_id))
    if not record:
        return Lookup(None, "no such session: logged out, revoked, expired, or never issued")
    now = clock.now()
    try:
        created, last_seen, user = (
            float(record["created"]),
            float(record["last_seen"]),
            record["user"],
        )
    except (KeyError, ValueError):
        # A half-written record (e.g. touched while being deleted): never trust it.
        delete_session(store, session_id)
        return Lookup(None, "the session record is incomplete")
    if now - created >= absolute_timeout:
        delete_session(store, session_id, username=user)
        return Lookup(
            None,
            f"the session expired: {duration(now - created)} old, "
            f"absolute limit {duration(absolute_timeout)}",
        )
    if now - last_seen >= idle_timeout:
        delete_session(store, session_id, username=user)
        return Lookup(
            None,
            f"the session expired: idle for {duration(now - last_seen)}, "
            f"idle limit {duration(idle_timeout)}",
        )
    if touch:
        store.hset(session_key(session_id), "last_seen", now)
        last_seen = now
    return Lookup({**record, "created": created, "last_seen": last_seen})


def mark_used_and_load_user(
    store: redis.Redis, clock: LabClock, session_id: str, username: str
) -> dict:
    """One pipeline, one round trip: record the session's use (``last_seen = now``) and read
    the user's current record (empty if the user is gone). Roles are never cached in a session."""
    pipe = store.pipeline(transaction=False)
    pipe.hset(session_key(session_id), "last_seen", clock.now())
    pipe.hgetall(user_key(username))
    return pipe.execute()[1]


def lookup_session(
    store: redis.Redis,
    clock: LabClock,
    session_id: str,
    *,
    idle_timeout: float,
    absolute_timeout: float,
) -> dict | None:
    """The live session record for ``session_id``, or None (see :func:`find_session`)."""
    return find_session(
        store, clock, session_id, idle_timeout=idle_timeout, absolute_timeout=absolute_timeout
    ).record


def delete_session(store: redis.Redis, session_id: str, *, username: str | None = None) -> bool:
    """Delete one session record (and its entry in the user's set); True if it existed."""
    if username is None:
        username = store.hget(session_key(session_id), "user")
    pipe = store.pipeline(transaction=True)
    pipe.delete(session_key(session_id))
    if username:
        pipe.srem(user_sessions_key(username), session_id)
    return bool(pipe.execute()[0])


def user_session_ids(store: redis.Redis, username: str) -> list[str]:
    """IDs of ``username``'s sessions whose records still exist (stale set entries dropped)."""
    ids = sorted(store.smembers(user_sessions_key(username)))
    if not ids:
        return []
    pipe = store.pipeline(transaction=False)
    for session_id in ids:
        pipe.exists(session_key(session_id))
    alive = [sid for sid, exists in zip(ids, pipe.execute(), strict=True) if exists]
    stale = set(ids) - set(alive)
    if stale:
        store.srem(user_sessions_key(username), *stale)
    return alive


def logout_everywhere(store: redis.Redis, username: str) -> int:
    """Delete every session of ``username``; returns how many existed."""
    ids = store.smembers(user_sessions_key(username))
    pipe = store.pipeline(transaction=True)
    for session_id in ids:
        pipe.delete(session_key(session_id))
    pipe.delete(user_sessions_key(username))
    return sum(pipe.execute()[:-1])


def login(
    store: redis.Redis,
    clock: LabClock,
    username: str,
    presented_session_id: str | None = None,
    *,
    client: str = "",
    ttl: int,
) -> str:
    """Start a session for ``username`` (whose password was just checked); return its ID.

    The ID is always new: a session ID the client presented before logging in is deleted,
    never promoted, so an attacker who planted a known ID in the victim's browser gains
    nothing (session fixation, OWASP Session Management Cheat Sheet, "Renew the Session ID").
    """
    if presented_session_id and SESSION_ID_PATTERN.fullmatch(presented_session_id):
        delete_session(store, presented_session_id)
    return create_session(store, clock, username, client=client, ttl=ttl)
