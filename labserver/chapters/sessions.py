"""Chapter 1: server-side sessions. An opaque ID in a cookie; everything else in the store.

Endpoints:

* ``POST /session/login``            ``{"username", "password"}`` → a new session; the answer
  sets the cookie and returns the session's CSRF token
* ``GET  /session/me``               the caller by their session (one store lookup, every time)
* ``POST /session/profile``          ``{"display_name"}``: a state-changing request; with a
  cookie it needs the ``X-CSRF-Token`` header
* ``POST /session/logout``           delete this session in the store, clear the cookie
* ``POST /session/logout-everywhere`` delete every session of the caller
* ``GET  /admin/users/<name>/sessions``           a user's live sessions, by handle (admin)
* ``DELETE /admin/users/<name>/sessions/<handle>`` revoke one of them (admin)

The cookie is ``HttpOnly`` (page scripts cannot read it), ``SameSite=Lax`` (configurable),
``Path=/``, and ``Secure`` exactly when the lab is served over HTTPS. Over plain HTTP on
127.0.0.1 ``Secure`` stays off, because Python's cookie jar (which ``requests`` uses) never sends
a ``Secure`` cookie over HTTP; browsers make an exception for localhost. Under HTTPS the cookie
is named ``__Host-session``: the ``__Host-`` prefix makes browsers insist on ``Secure``,
``Path=/`` and no ``Domain``, so no subdomain can plant or overwrite it.

Behind a proxy that serves the lab under a prefix (JupyterHub's jupyter-server-proxy, which says
so in ``X-Forwarded-Prefix``), the cookie's ``Path`` is the prefix, ``Secure`` follows the front
proxy's ``X-Forwarded-Proto``, and over HTTPS the name is ``__Secure-session`` (``__Host-``
needs ``Path=/``): see :mod:`labserver.hosting`.

CSRF (OWASP CSRF Prevention Cheat Sheet): every state-changing request authenticated by the
cookie must carry the session's token in ``X-CSRF-Token``. The layers, outermost first:
``SameSite=Lax`` keeps the cookie off cross-site POSTs and subresource requests (but not off
requests from sibling subdomains, which are "same site", nor off top-level GET links, which is
why no GET may change anything); the endpoints accept JSON bodies only, which an HTML form
cannot send; a custom header cannot be added by another origin's script without CORS approval;
and the token is a secret another origin cannot read, which still holds if CORS is ever
configured too loosely.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Request, current_app, jsonify, make_response, request
from werkzeug.http import dump_cookie

from ..app import lab_state
from ..auth import (
    Principal,
    login_still_current,
    password_login,
    register_authenticator,
    require_credential,
    require_role,
)
from ..config import Option
from ..hosting import cookie_path, over_https, secure_cookie_name
from ..http_errors import CsrfRejected, InvalidSession, NotFound
from ..inputs import json_object, string_field
from ..session_records import (
    delete_session,
    find_session,
    login,
    logout_everywhere,
    mark_used_and_load_user,
    session_handle,
    session_key,
    user_session_ids,
)
from ..timefmt import iso
from ..users import User, get_user, set_display_name, user_from_record

bp = Blueprint("sessions", __name__)

OPTIONS = (
    Option(
        "SESSION_COOKIE",
        "auto",
        "Cookie name; 'auto' is 'session' over HTTP and '__Host-session' over HTTPS "
        "('__Secure-session' under a proxy's prefix, where Path cannot be /).",
    ),
    Option(
        "SESSION_SAMESITE",
        "Lax",
        "The cookie's SameSite attribute: 'Strict', 'Lax' or 'None' (None needs HTTPS).",
    ),
    Option(
        "SESSION_COOKIE_SECURE",
        "auto",
        "The cookie's Secure attribute: 'auto' (exactly when served over HTTPS), True or False. "
        "True over plain HTTP reproduces chapter 6's login loop.",
    ),
    Option(
        "SESSION_IDLE_TIMEOUT",
        15 * 60,
        "Seconds without a request after which a session ends (lab clock).",
    ),
    Option(
        "SESSION_ABSOLUTE_TIMEOUT",
        8 * 3600,
        "Seconds after login at which a session ends however busy it is (lab clock).",
    ),
)

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_app(app) -> None:
    """A session cookie is a credential every endpoint of the lab accepts."""
    # No WWW-Authenticate challenge: HTTP has no standard scheme for cookies.
    register_authenticator(app, "session", session_authenticator, challenge=None)


def _config(name: str):
    return current_app.config[name]


def cookie_name(req: Request) -> str:
    """The session cookie's name for this request (see ``SESSION_COOKIE``)."""
    configured = _config("SESSION_COOKIE")
    if configured != "auto":
        return configured
    return secure_cookie_name(req, "session")


def store_ttl() -> int:
    """Seconds the store keeps a session record: clean-up only, a little longer than any
    session can live by the lab's own rules (chapter 1's sessions and chapter 5's BFF alike)."""
    return int(_config("SESSION_ABSOLUTE_TIMEOUT")) + 60


def cookie_attributes(req: Request) -> dict:
    """The lab's one policy for session cookies (this chapter's and the BFF's): ``HttpOnly``,
    ``Path=/`` (under a proxy's prefix: see :func:`~labserver.hosting.cookie_path`), ``SameSite``
    from ``SESSION_SAMESITE``, ``Secure`` from ``SESSION_COOKIE_SECURE`` ("auto": over HTTPS, to
    the lab or through a proxy's prefix)."""
    configured = _config("SESSION_COOKIE_SECURE")
    if configured == "auto":
        secure = over_https(req)
    else:
        secure = bool(configured)
    return {
        "path": cookie_path(req),
        "httponly": True,
        "secure": secure,
        "samesite": _config("SESSION_SAMESITE"),
    }


def _clearing_cookie(req: Request) -> str:
    """A ``Set-Cookie`` value that makes the client drop the session cookie."""
    return dump_cookie(cookie_name(req), "", max_age=0, expires=0, **cookie_attributes(req))


def session_authenticator(req: Request) -> Principal | None:
    """The caller named by the session cookie, or None when there is no cookie.

    Two store round trips: read the session; then, in one pipeline, mark it used and read
    the user's current record (roles are never cached in the session).
    """
    session_id = req.cookies.get(cookie_name(req))
    if session_id is None:
        return None
    state = lab_state()
    found = find_session(
        state.store,
        state.clock,
        session_id,
        touch=False,
        idle_timeout=_config("SESSION_IDLE_TIMEOUT"),
        absolute_timeout=_config("SESSION_ABSOLUTE_TIMEOUT"),
    )
    if found.record is None:
        raise InvalidSession(found.reason, headers={"Set-Cookie": _clearing_cookie(req)})
    record = found.record
    if req.method not in SAFE_METHODS:
        presented = req.headers.get(CSRF_HEADER, "")
        if not presented:
            raise CsrfRejected(
                f"a cookie-authenticated {req.method} needs the session's CSRF "
                f"token in the {CSRF_HEADER} header"
            )
        if not hmac.compare_digest(
            presented.encode("utf-8", "replace"), record.get("csrf", "").encode()
        ):
            raise CsrfRejected(f"the {CSRF_HEADER} header does not match this session's token")
    user_record = mark_used_and_load_user(state.store, state.clock, session_id, record["user"])
    if "password_hash" not in user_record:  # no record, or a half one: no user
        delete_session(state.store, session_id, username=record["user"])
        raise InvalidSession("the session's user no longer exists")
    user = user_from_record(record["user"], user_record)
    return Principal(
        user=user,
        via="session",
        details={"session": session_handle(session_id), "csrf_token": record["csrf"]},
    )


@bp.post("/session/login")
def session_login():
    """Check the password; start a new session (the presented one, if any, is dropped)."""
    user = password_login()
    state = lab_state()
    session_id = login(
        state.store,
        state.clock,
        user.username,
        request.cookies.get(cookie_name(request)),
        client=request.headers.get("User-Agent", ""),
        ttl=store_ttl(),
    )
    login_still_current(
        user, undo=lambda: delete_session(state.store, session_id, username=user.username)
    )
    csrf = state.store.hget(session_key(session_id), "csrf")
    response = make_response(
        jsonify(
            user=user.to_json(),
            csrf_token=csrf,
            idle_timeout=_config("SESSION_IDLE_TIMEOUT"),
            absolute_timeout=_config("SESSION_ABSOLUTE_TIMEOUT"),
        )
    )
    response.set_cookie(cookie_name(request), session_id, **cookie_attributes(request))
    return response


@bp.get("/session/me")
def session_me():
    """The caller by their session: user, roles (as stored now) and the session's handle."""
    return jsonify(require_credential("session").to_json())


@bp.post("/session/profile")
@require_role()
def session_profile(principal: Principal):
    """Change the caller's display name (a state-changing request: CSRF applies)."""
    name = string_field(json_object(), "display_name", max_length=64)
    user = set_display_name(lab_state().store, principal.user.username, name)
    if user is None:  # deleted since the request was authenticated
        raise NotFound(f"no user named {principal.user.username!r}")
    return jsonify(user.to_json())


@bp.post("/session/logout")
def session_logout():
    """Delete this session in the store, so its ID is worthless from now on; clear the cookie."""
    principal = require_credential("session")
    session_id = request.cookies[cookie_name(request)]
    delete_session(lab_state().store, session_id, username=principal.user.username)
    response = make_response(jsonify(logged_out=principal.details["session"]))
    response.headers["Set-Cookie"] = _clearing_cookie(request)
    return response


@bp.post("/session/logout-everywhere")
def session_logout_everywhere():
    """Delete every session of the caller, on every device."""
    principal = require_credential("session")
    ended = logout_everywhere(lab_state().store, principal.user.username)
    response = make_response(jsonify(sessions_ended=ended))
    response.headers["Set-Cookie"] = _clearing_cookie(request)
    return response


def _user_or_404(username: str) -> User:
    user = get_user(lab_state().store, username)
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


@bp.get("/admin/users/<username>/sessions")
@require_role("admin")
def admin_list_sessions(username: str, principal: Principal):
    """A user's live sessions, each by its handle (a hash: revocable, not usable as a cookie)."""
    _user_or_404(username)
    state = lab_state()
    ids = user_session_ids(state.store, username)
    pipe = state.store.pipeline(transaction=False)
    for session_id in ids:
        pipe.hgetall(session_key(session_id))
    now = state.clock.now()
    live = sorted(
        ((sid, rec) for sid, rec in zip(ids, pipe.execute(), strict=True) if rec),
        key=lambda pair: float(pair[1]["created"]),
    )
    sessions = [
        {
            "handle": session_handle(sid),
            "client": rec.get("client", ""),
            "created": iso(float(rec["created"])),
            "idle_for": round(now - float(rec["last_seen"])),
        }
        for sid, rec in live
    ]
    return jsonify(user=username, sessions=sessions)


@bp.delete("/admin/users/<username>/sessions/<handle>")
@require_role("admin")
def admin_revoke_session(username: str, handle: str, principal: Principal):
    """Revoke the session of ``username`` whose handle is ``handle``."""
    _user_or_404(username)
    store = lab_state().store
    for session_id in user_session_ids(store, username):
        if hmac.compare_digest(
            session_handle(session_id).encode(), handle.encode("utf-8", "replace")
        ):
            delete_session(store, session_id, username=username)
            return jsonify(revoked=handle, user=username)
    raise NotFound(f"{username} has no live session with handle {handle!r}")
