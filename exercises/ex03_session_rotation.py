"""Exercise 03 · Log in without session fixation: always a new session ID.

Session fixation: an attacker gets a session ID the server knows (their own, or one they made
up), plants it in the victim's browser (a crafted link, a cookie set from a sibling
subdomain), and waits. If the server keeps that ID when the victim logs in, the attacker's copy
of the ID is now the victim's logged-in session. The defence is to issue a brand-new ID at
login and delete any ID the browser came with.

Check your work in the notebook with ``check("ex03")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex03_session_rotation.py --impl exercises``.
"""

from labserver.session_records import create_session, session_key


def login(store, clock, username, presented_session_id=None):
    """Start a session for ``username`` (whose password was just checked); return its ID.

    ``presented_session_id`` is the session cookie the browser sent with the login request,
    or None. Use ``create_session(store, clock, username, ttl=3600)`` (given) to make the
    new session; ``session_key(id)`` is where a record lives.
    """
    raise NotImplementedError(
        "never reuse presented_session_id: delete its record, then return a fresh create_session(...)"
    )
