"""Exercise 02 · Log a user out everywhere.

Every session of a user is a record at ``session_key(id)``; the server also keeps the set of
the user's session IDs at ``user_sessions_key(username)``, which is what makes "log out
everywhere" (after a password change, a stolen laptop) one cheap operation on the server.

Check your work in the notebook with ``check("ex02")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex02_logout_everywhere.py --impl exercises``.
"""

from labserver.store import key


def session_key(session_id: str) -> str:
    """Where a session record lives (given)."""
    return key("session", session_id)


def user_sessions_key(username: str) -> str:
    """Where the set of a user's session IDs lives (given)."""
    return key("user-sessions", username)


def logout_everywhere(store, username):
    """Delete every session of ``username`` and the set that lists them.

    Return how many session records were actually deleted (an ID in the set whose record
    has already expired does not count). Other users' sessions are untouched. A user with no
    sessions gives 0 and no error (careful: Redis refuses a DEL with no keys at all).

    (Like the lab's own version, this is not atomic: a login between reading the set and
    deleting it leaves one session behind. A Redis transaction with WATCH, or a Lua script,
    would close that gap; for the lab, it is fine.)
    """
    ids = store.smembers(user_sessions_key(username))
    deleted = store.delete(*[session_key(i) for i in ids]) if ids else 0
    store.delete(user_sessions_key(username))
    return deleted
