"""Exercise 03 · Log in without session fixation: always a new session ID.

Session fixation: an attacker gets a session ID the server knows (their own, or one they made
up), plants it in the victim's browser (a crafted link, a cookie set from a sibling
subdomain), and waits. If the server keeps that ID when the victim logs in, the attacker's copy
of the ID is now the victim's logged-in session. The defence is to issue a brand-new ID at
login and delete any ID the browser came with.

Check your work in the notebook with ``check("ex03")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex03_session_rotation.py --impl exercises``.
"""

from labserver.session_records import create_session, delete_session

#: The store's clean-up time for a session: the 8 h absolute timeout and a minute.
TTL = 8 * 3600 + 60


def login(store, clock, username, presented_session_id=None):
    """Start a session for ``username`` (whose password was just checked); return its ID.

    ``presented_session_id`` is the session cookie the browser sent with the login request,
    or None. Two helpers are given: ``create_session(store, clock, username, ttl=TTL)`` makes
    a new session and returns its ID; ``delete_session(store, session_id)`` deletes one (and
    its entry in its user's set of sessions).
    """
    raise NotImplementedError(
        "renew the session ID at login (OWASP Session Management Cheat Sheet): no ID the browser "
        "came with may outlive the login; the two helpers above are all you need"
    )
