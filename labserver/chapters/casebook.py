"""Chapter 6: the casebook's misbehaving endpoints, each reproducing one failure people report.

These are deliberately wrong, and only here so that notebook 06 can show each symptom coming
from a real server:

* ``GET  /casebook/cookie/<case>``  sets one cookie with the named mistake (:data:`COOKIE_CASES`)
* ``GET  /casebook/api/echo``       which cookies arrived here (names and sizes)
* ``GET  /casebook/app/echo``       the same, under ``/casebook/app`` (for the Path case)
* ``POST /casebook/bad-logout``     a logout that only clears the cookie and forgets the server
"""

from __future__ import annotations

from flask import Blueprint, jsonify, make_response, request
from werkzeug.http import dump_cookie

from ..auth import Principal, require_role
from ..http_errors import NotFound

bp = Blueprint("casebook", __name__)

#: case name -> (cookie name, value, attributes for werkzeug's dump_cookie, what is wrong)
COOKIE_CASES = {
    "good": ("prefs", "dark", {"path": "/", "httponly": True, "samesite": "Lax"}, "nothing"),
    "oversized": (
        "prefs",
        "x" * 5000,
        {"path": "/", "httponly": True, "samesite": "Lax"},
        "the value grew to 5000 bytes",
    ),
    "wrong-domain": (
        "prefs",
        "dark",
        {"path": "/", "domain": "example.com", "samesite": "Lax"},
        "Domain names a site this server is not",
    ),
    "narrow-path": (
        "prefs",
        "dark",
        {"path": "/casebook/app", "samesite": "Lax"},
        "Path covers /casebook/app only",
    ),
    "secure-over-http": (
        "prefs",
        "dark",
        {"path": "/", "secure": True, "samesite": "Lax"},
        "Secure, on a site served over plain HTTP",
    ),
    "samesite-none-insecure": (
        "prefs",
        "dark",
        {"path": "/", "samesite": "None"},
        "SameSite=None without Secure",
    ),
}


@bp.get("/casebook/cookie/<case>")
def set_cookie(case: str):
    """Set the cookie of one case; the answer says what is wrong with it."""
    if case not in COOKIE_CASES:
        raise NotFound(f"no case {case[:40]!r}; cases: {', '.join(COOKIE_CASES)}")
    name, value, attributes, mistake = COOKIE_CASES[case]
    response = make_response(jsonify(case=case, mistake=mistake))
    response.headers.add("Set-Cookie", dump_cookie(name, value, max_size=0, **attributes))
    return response


def _echo():
    return jsonify(path=request.path, cookies={k: len(v) for k, v in request.cookies.items()})


@bp.get("/casebook/api/echo")
def api_echo():
    """The cookies this request carried, by name, with their sizes."""
    return _echo()


@bp.get("/casebook/app/echo")
def app_echo():
    """The same, under /casebook/app."""
    return _echo()


@bp.post("/casebook/bad-logout")
@require_role()
def bad_logout(principal: Principal):
    """The bug: "logging out" by clearing the cookie, while the session lives on in the store."""
    response = make_response(jsonify(logged_out="only in this browser"))
    response.headers["Set-Cookie"] = dump_cookie("session", "", max_age=0, expires=0, path="/")
    return response
