"""Chapter 5: the hybrid pattern. A backend-for-frontend (BFF) between the browser and the API.

The browser holds one credential, an ``HttpOnly``, ``SameSite`` session cookie for the BFF. The
BFF keeps, in that server-side session, a refresh token and a short-lived access token; it calls
the stateless API with ``Authorization: Bearer`` on the browser's behalf. So script in the page
can never read a token, the API never sees the cookie, and logging out (deleting the session
and revoking its refresh family) stops the flow of new access tokens at once.

Endpoints, for the browser:

* ``GET  /bff/``                 the web app's page (and ``/bff/app.js``, ``/bff/app.css``)
* ``POST /bff/login``            a form (or JSON) with username and password; sets the cookie
* ``GET  /bff/me``               who the session belongs to
* ``*    /bff/api/<path>``       the proxy: the BFF calls ``/api/<path>`` with a bearer token
* ``POST /bff/logout``           delete the session, revoke its refresh tokens, clear the cookie

and one more API endpoint, reached through the proxy:

* ``POST /api/account/delete``   a sensitive action: even with a valid token, it re-checks the
  user in the store (still there, still has the ``user`` role, token version current)

Every BFF request that uses the session must carry ``X-CSRF: 1`` (see :mod:`labserver.bff`).
"""

from __future__ import annotations

import re
from importlib import resources

import requests
from flask import (
    Blueprint,
    Request,
    Response,
    current_app,
    jsonify,
    make_response,
    redirect,
    request,
)

from ..app import lab_state
from ..auth import login_still_current, password_login, require_credential
from ..bff import csrf_problem, token_for_session
from ..config import Option
from ..http_errors import (
    AuthenticationRequired,
    BadGateway,
    CsrfRejected,
    Forbidden,
    InvalidRequest,
    ServiceUnavailable,
)
from ..inputs import json_body
from ..refresh_tokens import issue_refresh_token, revoke_refresh_token, revoke_user_families
from ..revocation import revocation_problem
from ..session_records import (
    create_session,
    delete_session,
    find_session,
    logout_everywhere,
    session_key,
)
from ..users import TOMBSTONE_TTL, delete_user, get_user, user_from_record
from .sessions import SAFE_METHODS, cookie_attributes, store_ttl

bp = Blueprint("bff", __name__)

OPTIONS = (
    Option(
        "BFF_COOKIE",
        "auto",
        "The BFF's cookie name; 'auto' is 'bff' over HTTP and '__Host-bff' over HTTPS.",
    ),
    Option("BFF_API_URL", None, "Where the BFF finds the API; default: this same lab server."),
)

_SAFE_PATH = re.compile(r"[A-Za-z0-9_\-/.]{1,200}")

_PAGE_SECURITY_HEADERS = {
    # The page runs only its own script, loads nothing from elsewhere, and cannot be framed.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make form posts say Origin: null
}


def _cookie_name(req: Request) -> str:
    configured = current_app.config["BFF_COOKIE"]
    if configured != "auto":
        return configured
    return "__Host-bff" if req.is_secure else "bff"


def _own_origin() -> str:
    """This BFF's origin: the lab's own address, never taken from the request's Host header."""
    own = lab_state().own_url
    if own is None:
        raise ServiceUnavailable("the BFF needs to know its own address: start it with start_lab()")
    return own


def _api_url() -> str:
    """Where the API is: configured, or this same lab; never taken from the request."""
    return (current_app.config["BFF_API_URL"] or _own_origin()).rstrip("/")


def _web_file(name: str, mimetype: str) -> Response:
    body = resources.files("labserver").joinpath("web", name).read_bytes()
    response = make_response(body)
    response.mimetype = mimetype
    response.headers.update(_PAGE_SECURITY_HEADERS)
    return response


@bp.get("/bff/")
def page():
    """The web app's one page."""
    return _web_file("bff.html", "text/html")


@bp.get("/bff/app.js")
def page_script():
    return _web_file("bff.js", "text/javascript")


@bp.get("/bff/app.css")
def page_style():
    return _web_file("bff.css", "text/css")


def _session(req: Request, *, csrf: bool) -> tuple[str, dict]:
    """The BFF session of this request (and its CSRF check), or a 401/403."""
    session_id = req.cookies.get(_cookie_name(req))
    if session_id is None:
        raise AuthenticationRequired("no BFF session: log in at /bff/ first")
    if csrf:  # before the lookup: a refused request must not even keep the session alive
        problem = csrf_problem(req.headers, _own_origin())
        if problem:
            raise CsrfRejected(problem)
    state, config = lab_state(), current_app.config
    found = find_session(
        state.store,
        state.clock,
        session_id,
        idle_timeout=config["SESSION_IDLE_TIMEOUT"],
        absolute_timeout=config["SESSION_ABSOLUTE_TIMEOUT"],
    )
    if found.record is None:
        raise AuthenticationRequired(f"the BFF session is gone: {found.reason}")
    return session_id, found.record


@bp.post("/bff/login")
def login():
    """Check the password (a form, or JSON); start a BFF session holding a refresh token."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != _own_origin():
        raise CsrfRejected(f"a login from another origin ({origin[:80]}) is refused")
    user = password_login(None if request.is_json else request.form.to_dict())
    state, config = lab_state(), current_app.config
    presented = request.cookies.get(_cookie_name(request))
    if presented:  # a new login is a new session: the old one ends, refresh tokens and all
        old_refresh = state.store.hget(session_key(presented), "refresh_token")
        if old_refresh:
            revoke_refresh_token(state.store, old_refresh, reason="a new login in the same browser")
        delete_session(state.store, presented)
    session_id = create_session(
        state.store,
        state.clock,
        user.username,
        client=request.headers.get("User-Agent", ""),
        ttl=store_ttl(),
    )
    refresh = issue_refresh_token(
        state.store, state.clock, user.username, lifetime=config["REFRESH_LIFETIME"]
    )
    state.store.hset(session_key(session_id), "refresh_token", refresh)
    login_still_current(
        user,
        undo=lambda: (
            revoke_refresh_token(state.store, refresh, reason="the account changed"),
            delete_session(state.store, session_id, username=user.username),
        ),
    )
    response = (
        redirect("/bff/", code=303) if not request.is_json else jsonify(username=user.username)
    )
    response.set_cookie(_cookie_name(request), session_id, **cookie_attributes(request))
    return response


@bp.get("/bff/me")
def me():
    """Who this BFF session belongs to (roles as stored now)."""
    _, record = _session(request, csrf=True)
    user = get_user(lab_state().store, record["user"])
    if user is None:
        raise AuthenticationRequired("the session's user no longer exists")
    return jsonify(username=user.username, roles=list(user.roles))


def _mint_for(session_id: str, record: dict):
    """A function that gets a fresh access token from the token endpoint (over HTTP), with the
    session's refresh token, and keeps the rotated refresh token in the session."""

    def mint() -> tuple[str, float]:
        state = lab_state()
        refresh = state.store.hget(session_key(session_id), "refresh_token") or ""
        answer = _http(
            "POST", "/oauth/token", json={"grant_type": "refresh_token", "refresh_token": refresh}
        )
        if answer.status_code != 200:
            # The refresh family is gone (logout elsewhere, reuse detected): so is this session.
            delete_session(state.store, session_id, username=record["user"])
            reason = answer.json().get("error_description", answer.status_code)
            raise AuthenticationRequired(
                f"the BFF session can no longer get tokens ({reason}); log in again"
            )
        tokens = answer.json()
        state.store.hset(session_key(session_id), "refresh_token", tokens["refresh_token"])
        return tokens["access_token"], state.clock.now() + tokens["expires_in"]

    return mint


def _http(method: str, path: str, **kwargs) -> requests.Response:
    """One call from the BFF to the lab's API or token endpoint, over HTTP."""
    with requests.Session() as http:
        http.trust_env = False  # loopback only; never through a proxy from the environment
        return http.request(
            method, _api_url() + path, timeout=10, verify=lab_state().tls_cert or True, **kwargs
        )


@bp.route("/bff/api/<path:path>", methods=["GET", "POST", "PUT", "DELETE"])
def proxy(path: str):
    """Call ``/api/<path>`` for the browser with the session's access token; relay the answer."""
    if not _SAFE_PATH.fullmatch(path) or ".." in path.split("/"):
        # Only paths under /api/ are proxied: no "..", nothing a URL parser could re-interpret.
        raise InvalidRequest("the proxy only forwards plain paths under /api/")
    session_id, record = _session(request, csrf=True)
    state = lab_state()
    token, _ = token_for_session(
        state.store, state.clock, session_id, _mint_for(session_id, record)
    )
    body = None
    if request.method not in SAFE_METHODS and request.get_data(cache=True):
        body = json_body()  # relayed as JSON: NaN, lone surrogates and repeated keys refused
    answer = _http(
        request.method, f"/api/{path}", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    if answer.headers.get("Content-Type", "").split(";")[0] != "application/json":
        # Relay JSON only: anything else could render as a page on the BFF's own origin.
        raise BadGateway("the API answered with something other than JSON; not relayed")
    relayed = make_response(answer.content, answer.status_code)
    relayed.mimetype = "application/json"
    relayed.headers["Cache-Control"] = "no-store"
    relayed.headers["X-Content-Type-Options"] = "nosniff"
    return relayed


@bp.post("/bff/logout")
def logout():
    """End the BFF session: delete it, revoke its refresh-token family, clear the cookie."""
    session_id, record = _session(request, csrf=True)
    store = lab_state().store
    if record.get("refresh_token"):
        revoke_refresh_token(store, record["refresh_token"], reason="logged out of the BFF")
    delete_session(store, session_id, username=record["user"])
    response = jsonify(logged_out=True)
    response.delete_cookie(_cookie_name(request), **cookie_attributes(request))
    return response


@bp.post("/api/account/delete")
def delete_account():
    """A sensitive action: a valid token is not enough; the store must agree, right now."""
    principal = require_credential("bearer")
    store = lab_state().store
    record, problem = revocation_problem(store, principal.claims)
    if not record:
        raise Forbidden("no such account (re-checked in the store)")
    user = user_from_record(principal.user.username, record)
    if not user.has_role("user"):
        raise Forbidden(
            "the account is suspended: it no longer has the user role (re-checked in the store)"
        )
    if problem:
        raise Forbidden(f"the token is out of date for this action: {problem}")
    config = current_app.config  # remember the version longer than any token the lab issues lives
    remember_for = int(config["TOKEN_MAX_LIFETIME"]) + int(config["TOKEN_LEEWAY"]) + 60
    if not delete_user(store, user.username, remember_for=max(TOMBSTONE_TTL, remember_for)):
        raise Forbidden("no such account (re-checked in the store)")
    # Gone means gone everywhere: no session or refresh token outlives the account, even if an
    # account of the same name is created again.
    sessions = logout_everywhere(store, user.username)
    families = revoke_user_families(store, user.username, "the account was deleted")
    return jsonify(
        deleted=user.username, sessions_ended=sessions, refresh_families_revoked=families
    )
