"""Exercise 09 · The BFF's token step: swap a session for a short-lived access token, cached.

A backend-for-frontend calls the API for the browser with an access token it keeps in the
browser's server-side session. Getting a new token for every call would cost a refresh each
time; re-using one that is about to expire would send the API a token that dies on the way. So:
re-use the cached token while it has more than ``margin`` seconds left, otherwise get a new one.

The session record is the hash at ``session_key(session_id)``; the cache is two fields in it:
``access_token`` and ``access_exp`` (epoch seconds, stored as a string). (The lab's own version,
in ``labserver/bff.py``, also takes a per-session lock around the renewal, so that two parallel
requests never spend one refresh token twice; this exercise leaves that out.)

Check your work in the notebook with ``check("ex09")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex09_token_cache.py --impl exercises``.
"""

from labserver.store import key


def session_key(session_id: str) -> str:
    """Where a session record lives (given)."""
    return key("session", session_id)


def token_for_session(store, clock, session_id, mint, margin=30):
    """Return ``(token, fresh)``: the access token to send for this session, and whether it was
    newly obtained.

    * if the record holds ``access_token`` and ``access_exp``, and ``access_exp - clock.now()``
      is more than ``margin``: return that token, with ``fresh`` False (``mint`` not called);
    * otherwise call ``mint()``, which returns a new ``(token, exp)``; save both fields in the
      record, and return the new token with ``fresh`` True.
    """
    token, exp = store.hmget(session_key(session_id), "access_token", "access_exp")
    if token and exp and float(exp) - clock.now() > margin:
        return token, False
    token, exp = mint()
    store.hset(session_key(session_id), mapping={"access_token": token, "access_exp": exp})
    return token, True
