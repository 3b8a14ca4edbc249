"""Exercise 01 · Make session IDs, and look sessions up with idle and absolute timeouts.

Chapter 1 builds on this: a session is an opaque ID in a cookie, and everything else lives in
the server's store. The ID must be unguessable: whoever holds it *is* the user. A session
record is a hash at ``session_key(session_id)``::

    user       the username it belongs to
    created    lab-clock seconds when it was created      (stored as a string)
    last_seen  lab-clock seconds of its last use          (stored as a string)

Check your work in the notebook with ``check("ex01")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex01_session_lookup.py --impl exercises``.
"""

import secrets  # noqa: F401  (you will want it)

from labserver.store import key


def session_key(session_id: str) -> str:
    """Where a session record lives in the store (given; do not change)."""
    return key("session", session_id)


def new_session_id() -> str:
    """Return a new session ID: at least 128 bits from a cryptographic random source, as
    URL-safe text (letters, digits, ``-`` and ``_``), so it can go into a cookie as it is.
    """
    raise NotImplementedError(
        "the secrets module makes unguessable tokens: secrets.token_urlsafe(n) gives n random "
        "bytes as URL-safe text"
    )


def lookup_session(store, clock, session_id, *, idle_timeout, absolute_timeout):
    """Return the live session record for ``session_id`` as a dict, or None.

    * unknown ``session_id`` → None;
    * ``clock.now() - created >= absolute_timeout`` → delete the record, return None;
    * ``clock.now() - last_seen >= idle_timeout`` → delete the record, return None;
    * otherwise set ``last_seen`` to ``clock.now()`` in the store and return the record, with
      ``created`` and ``last_seen`` as floats (``last_seen`` the new value).

    ``store`` is a redis-py client with ``decode_responses=True``; ``clock`` is a LabClock.
    """
    raise NotImplementedError(
        "start with record = store.hgetall(session_key(session_id)); "
        "an unknown key gives an empty dict"
    )
