"""Exercise 12 · Find the bugs: a session cookie that browsers drop, misplace, or expose.

``session_cookie`` builds the ``Set-Cookie`` value a login sends. Users report that logging in
"does nothing" in some browsers, and a security review flagged it. The checks run the course's
cookie inspector on what it builds, as a browser would see it; fix it so they pass.

Check your work in the notebook with ``check("ex12")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex12_fix_the_cookie.py --impl exercises``.
"""

from werkzeug.http import dump_cookie


def session_cookie(session_id, *, https):
    """The ``Set-Cookie`` value for a new session: sent back on every path of this host only,
    hidden from page scripts, never on other sites' POSTs; over HTTPS, named ``__Host-session``
    and ``Secure``; over plain HTTP (a developer's machine, a staging host without TLS), named
    ``session`` and without ``Secure`` (browsers do not send a Secure cookie over http://, except
    to localhost)."""
    if https:
        return dump_cookie(
            "__Host-session", session_id, path="/", secure=True, httponly=True, samesite="Lax"
        )
    return dump_cookie("session", session_id, path="/", httponly=True, samesite="Lax")
