"""Chapter 5: the hybrid pattern. A backend-for-frontend (BFF) between the browser and the API.

The browser holds one credential, an ``HttpOnly``, ``SameSite`` session cookie for the BFF. The
BFF keeps, in that server-side session, a refresh token and a short-lived access token; it calls
the stateless API with ``Authorization: Bearer`` on the browser's behalf. So script in the page
can never read a token, the API never sees the cookie, and logging out (deleting the session
and revoking its refresh family) stops the flow of new access tokens at once.

Endpoints, for the browser:

* ``GET  /bff/``                 the web app's page (and ``/bff/app.js``, ``/bff/app.css``)
* ``GET  /bff/login-options``    how this BFF signs users in (the page asks)
* ``GET  /bff/login``            with an identity provider (``BFF_ISSUER_URL``, chapter 04):
  start the authorization code flow (state, nonce and PKCE verifier kept server-side, under a
  short-lived ``bff-login`` cookie) and redirect the browser to the provider; behind a hub's
  proxy, a 503 that says why (the provider and the registered ``redirect_uri`` are loopback
  addresses the browser cannot reach there)
* ``GET  /bff/callback``         the provider's redirect: check state and iss, redeem the code
  (client_secret_basic + code_verifier), check the ID token, set the session cookie
* ``POST /bff/login``            the lab shortcut, without an identity provider: a form (or
  JSON) with username and password, checked by the BFF itself; sets the cookie. RFC 9700
  section 2.4 forbids a client to handle the user's password: chapter 04's provider is the way
* ``GET  /bff/me``               who the session belongs to
* ``*    /bff/api/<path>``       the proxy: the BFF calls ``/api/<path>`` with a bearer token
  (with an identity provider: ``<BFF_ORDERS_URL>/<path>``, the orders API, with the
  provider's access token, renewed by its refresh grant)
* ``POST /bff/logout``           delete the session, revoke its refresh tokens (at the provider,
  RFC 7009, when it issued them), clear the cookie

and one more API endpoint, reached through the proxy:

* ``POST /api/account/delete``   a sensitive action: even with a valid token, it re-checks the
  user in the store (still there, still has the ``user`` role, token version current)

Every BFF request that uses the session must carry ``X-CSRF: 1`` (see :mod:`labserver.bff`).
Its ``Origin``, when present, must be the page's: the lab's address, or through a hub's proxy
the origin the browser used (:func:`labserver.hosting.browser_origins`).
"""

from __future__ import annotations

import re
import secrets
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
from ..hosting import browser_origins, forwarded_prefix, secure_cookie_name
from ..http_errors import (
    AuthenticationRequired,
    BadGateway,
    CsrfRejected,
    Forbidden,
    InvalidRequest,
    NotFound,
    ServiceUnavailable,
    error_response,
)
from ..inputs import json_body
from ..oauth.bff_client import (
    ConfidentialClient,
    IdentityProviderDown,
    LoginRefused,
    PendingLogin,
    new_login,
)
from ..refresh_tokens import issue_refresh_token, revoke_refresh_token, revoke_user_families
from ..revocation import revocation_problem
from ..session_records import (
    create_session,
    delete_session,
    find_session,
    logout_everywhere,
    session_key,
)
from ..store import key
from ..users import TOMBSTONE_TTL, delete_user, get_user, user_from_record
from .sessions import SAFE_METHODS, cookie_attributes, store_ttl

bp = Blueprint("bff", __name__)

OPTIONS = (
    Option(
        "BFF_COOKIE",
        "auto",
        "The BFF's cookie name; 'auto' is 'bff' over HTTP and '__Host-bff' over HTTPS "
        "('__Secure-bff' under a proxy's prefix, where Path cannot be /).",
    ),
    Option("BFF_API_URL", None, "Where the BFF finds the API; default: this same lab server."),
    Option(
        "BFF_ISSUER_URL",
        "",
        "Chapter 04's identity provider the BFF signs users in with (authorization code flow, "
        "as the confidential client 'bff'); empty: the lab shortcut (a password form).",
    ),
    Option(
        "BFF_ORDERS_URL",
        "",
        "With BFF_ISSUER_URL: the orders API that /bff/api/<path> forwards to.",
    ),
)

#: Seconds a started sign-in may take (the pre-login record and its cookie live this long).
LOGIN_TIMEOUT = 600

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
    return secure_cookie_name(req, "bff")


def _own_origin() -> str:
    """This BFF's origin: the lab's own address, never taken from the request's Host header."""
    own = lab_state().own_url
    if own is None:
        raise ServiceUnavailable("the BFF needs to know its own address: start it with start_lab()")
    return own


def _page_origin(req: Request) -> str:
    """The origin of the BFF's own page for this request: the lab's address, or through a proxy
    (JupyterHub's, Binder's) the origin the browser used, when the request says it is that."""
    own = _own_origin()
    origin = req.headers.get("Origin")
    return origin if origin in browser_origins(req, own) else own


def _api_url() -> str:
    """Where the API is: configured, or this same lab; never taken from the request."""
    return (current_app.config["BFF_API_URL"] or _own_origin()).rstrip("/")


def web_file(name: str, mimetype: str, headers: dict[str, str] | None = None) -> Response:
    """The file ``labserver/web/<name>`` as a response of ``mimetype``, with ``headers``."""
    body = resources.files("labserver").joinpath("web", name).read_bytes()
    response = make_response(body)
    response.mimetype = mimetype
    response.headers.update(headers or {})
    return response


@bp.get("/bff/")
def page():
    """The web app's one page."""
    return web_file("bff.html", "text/html", _PAGE_SECURITY_HEADERS)


@bp.get("/bff/app.js")
def page_script():
    return web_file("bff.js", "text/javascript", _PAGE_SECURITY_HEADERS)


@bp.get("/bff/app.css")
def page_style():
    return web_file("bff.css", "text/css", _PAGE_SECURITY_HEADERS)


def _session(req: Request, *, csrf: bool) -> tuple[str, dict]:
    """The BFF session of this request (and its CSRF check), or a 401/403."""
    session_id = req.cookies.get(_cookie_name(req))
    if session_id is None:
        raise AuthenticationRequired("no BFF session: log in at /bff/ first")
    if csrf:  # before the lookup: a refused request must not even keep the session alive
        problem = csrf_problem(req.headers, _page_origin(req))
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


def _identity_provider() -> ConfidentialClient | None:
    """The BFF's client of the configured identity provider, or None (the lab shortcut)."""
    issuer = current_app.config["BFF_ISSUER_URL"]
    if not issuer:
        return None
    client = current_app.extensions.get("lab.bff-client")
    if client is None or client.issuer != issuer.rstrip("/"):
        state = lab_state()
        client = ConfidentialClient(issuer, clock=state.clock, verify=state.tls_cert or True)
        current_app.extensions["lab.bff-client"] = client
    return client


def _login_cookie_name(req: Request) -> str:
    return secure_cookie_name(req, "bff-login")


def _redirect_uri() -> str:
    """Where the provider sends the browser back: this BFF's own address, as registered."""
    return _own_origin() + "/bff/callback"


def _start_session(username: str, tokens: dict, *, issuer: str = "") -> str:
    """A new BFF session for ``username`` holding ``tokens`` server-side; ends the browser's
    previous session first (a new login is a new session, refresh tokens and all)."""
    state = lab_state()
    presented = request.cookies.get(_cookie_name(request))
    if presented:
        _end_session(presented, state.store.hgetall(session_key(presented)), "a new login")
    session_id = create_session(
        state.store,
        state.clock,
        username,
        client=request.headers.get("User-Agent", ""),
        ttl=store_ttl(),
    )
    fields = {"refresh_token": tokens["refresh_token"]}
    if issuer:
        fields.update(
            issuer=issuer,
            access_token=tokens["access_token"],
            access_exp=state.clock.now() + float(tokens["expires_in"]),
        )
    state.store.hset(session_key(session_id), mapping=fields)
    return session_id


def _end_session(session_id: str, record: dict, reason: str) -> bool | None:
    """Delete the session and revoke its refresh token: at the identity provider when it issued
    it (RFC 7009; False if the provider could not be told), else in the lab's own store."""
    store, revoked = lab_state().store, None
    refresh = record.get("refresh_token")
    if refresh and record.get("issuer"):
        client = _identity_provider()
        revoked = bool(client and client.issuer == record["issuer"] and client.revoke(refresh))
    elif refresh:
        revoke_refresh_token(store, refresh, reason=reason)
        revoked = True
    delete_session(store, session_id, username=record.get("user"))
    return revoked


@bp.get("/bff/login-options")
def login_options():
    """How this BFF signs users in: through an identity provider, or the lab shortcut."""
    client = _identity_provider()
    if client is None:
        return jsonify(
            method="password",
            note="the lab shortcut: the BFF checks the password itself (RFC 9700 section 2.4 "
            "forbids it for real clients; chapter 04 signs in through an identity provider)",
            api="/bff/api/me",
        )
    return jsonify(
        method="authorization_code",
        issuer=client.issuer,
        sign_in="/bff/login",
        api="/bff/api/orders",
    )


@bp.get("/bff/login")
def start_login():
    """Start the authorization code flow: keep state, nonce and the PKCE verifier server-side
    (under a short-lived cookie that ties them to this browser), send the browser to the
    provider."""
    client = _identity_provider()
    if client is None:
        raise NotFound(
            "this BFF has no identity provider (BFF_ISSUER_URL): log in with the password form, "
            "POST /bff/login (the lab shortcut)"
        )
    if forwarded_prefix(request):
        # The provider and this BFF's redirect_uri are loopback addresses, registered as such:
        # a browser behind a hub's proxy could reach neither. Said now, not as a dead redirect.
        raise ServiceUnavailable(
            f"this BFF's identity provider is at {client.issuer}, which a browser behind a "
            "proxy's prefix (JupyterHub's, Binder's) cannot reach: sign in from the notebook "
            "(chapter 05, section 11), or on a laptop"
        )
    login = new_login()
    try:
        url = client.authorization_url(login, _redirect_uri())
    except IdentityProviderDown as exc:
        raise ServiceUnavailable(str(exc)) from None
    store, login_id = lab_state().store, secrets.token_urlsafe(32)
    pipe = store.pipeline(transaction=True)
    # The start time too: a real Redis expires the record on real seconds, the lab on its clock.
    record = {**login.as_record(), "started": lab_state().clock.now()}
    pipe.hset(key("bff-login", login_id), mapping=record)
    pipe.expire(key("bff-login", login_id), LOGIN_TIMEOUT)
    pipe.execute()
    response = redirect(url, code=302)
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(
        _login_cookie_name(request), login_id, max_age=LOGIN_TIMEOUT, **cookie_attributes(request)
    )
    return response


@bp.get("/bff/callback")
def callback():
    """The provider's redirect: check it answers this browser's sign-in (state, iss), redeem
    the code, check the ID token; then the session cookie, and back to the page."""
    client = _identity_provider()
    if client is None:
        raise NotFound("this BFF has no identity provider (BFF_ISSUER_URL)")
    login_id = request.cookies.get(_login_cookie_name(request), "")
    store = lab_state().store
    pipe = store.pipeline(transaction=True)
    pipe.hgetall(key("bff-login", login_id[:100]))
    pipe.delete(key("bff-login", login_id[:100]))  # single use: a second redirect finds nothing
    saved, _ = pipe.execute()
    if not saved:
        raise InvalidRequest(
            "no sign-in is in progress in this browser (it expired, was used, or was never "
            "started here): start again at /bff/login"
        )
    started = saved.pop("started", "")
    if not _is_recent(started):
        raise InvalidRequest(
            f"this sign-in was started more than {LOGIN_TIMEOUT} s ago (lab clock): start again "
            "at /bff/login"
        )
    login = PendingLogin(**saved)
    try:
        code = client.check_redirect(request.args.to_dict(), login)
        tokens = client.redeem(code, login, _redirect_uri())
        claims = client.id_token_claims(tokens, login.nonce)
        if not tokens.get("refresh_token") or not tokens.get("access_token"):
            raise LoginRefused("the token response lacks an access or refresh token")
    except IdentityProviderDown as exc:
        raise ServiceUnavailable(str(exc)) from None
    except LoginRefused as exc:
        response = error_response(exc.status, exc.error, str(exc))
        response.delete_cookie(_login_cookie_name(request), **cookie_attributes(request))
        return response
    session_id = _start_session(claims["sub"], tokens, issuer=client.issuer)
    response = redirect("/bff/", code=303)
    response.set_cookie(_cookie_name(request), session_id, **cookie_attributes(request))
    response.delete_cookie(_login_cookie_name(request), **cookie_attributes(request))
    return response


def _is_recent(started: str) -> bool:
    """Whether a sign-in started at ``started`` (lab seconds) is within LOGIN_TIMEOUT."""
    try:
        return 0 <= lab_state().clock.now() - float(started) <= LOGIN_TIMEOUT
    except ValueError:
        return False


@bp.post("/bff/login")
def login():
    """The lab shortcut: check the password (a form, or JSON) here; start a BFF session holding
    a refresh token of the lab's own token endpoint."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != _page_origin(request):
        raise CsrfRejected(f"a login from another origin ({origin[:80]}) is refused")
    if _identity_provider() is not None:
        raise Forbidden(
            "this BFF signs users in through the identity provider (GET /bff/login): it never "
            "handles a password (RFC 9700 section 2.4)"
        )
    user = password_login(None if request.is_json else request.form.to_dict())
    state, config = lab_state(), current_app.config
    refresh = issue_refresh_token(
        state.store, state.clock, user.username, lifetime=config["REFRESH_LIFETIME"]
    )
    session_id = _start_session(user.username, {"refresh_token": refresh})
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
    """A function that gets a fresh access token with the session's refresh token (over HTTP:
    from the identity provider that issued it, or the lab's own token endpoint), and keeps the
    rotated refresh token in the session."""

    def mint() -> tuple[str, float]:
        state = lab_state()
        refresh = state.store.hget(session_key(session_id), "refresh_token") or ""
        if record.get("issuer"):
            tokens, reason = _refresh_at_provider(record["issuer"], refresh)
        else:
            answer = _http(
                "POST",
                "/oauth/token",
                json={"grant_type": "refresh_token", "refresh_token": refresh},
            )
            tokens = answer.json() if answer.status_code == 200 else None
            reason = answer.json().get("error_description", answer.status_code)
        if tokens is None:
            # The refresh family is gone (logout elsewhere, reuse detected): so is this session.
            delete_session(state.store, session_id, username=record["user"])
            raise AuthenticationRequired(
                f"the BFF session can no longer get tokens ({reason}); log in again"
            )
        state.store.hset(session_key(session_id), "refresh_token", tokens["refresh_token"])
        return tokens["access_token"], state.clock.now() + tokens["expires_in"]

    return mint


def _refresh_at_provider(issuer: str, refresh: str) -> tuple[dict | None, str]:
    """The provider's refresh grant: (tokens, "") or (None, why it refused). 503 when down."""
    client = _identity_provider()
    if client is None or client.issuer != issuer:
        return None, "the identity provider that issued this session is no longer configured"
    try:
        return client.refresh(refresh), ""
    except IdentityProviderDown as exc:
        raise ServiceUnavailable(str(exc)) from None
    except LoginRefused as exc:
        return None, str(exc)


def _http(method: str, path: str, *, base: str | None = None, **kwargs) -> requests.Response:
    """One call from the BFF to the lab's API or token endpoint (or ``base``), over HTTP."""
    with requests.Session() as http:
        http.trust_env = False  # loopback only; never through a proxy from the environment
        if base is not None:
            http.headers["User-Agent"] = "bff"
        try:
            return http.request(
                method,
                (base or _api_url()) + path,
                timeout=10,
                verify=lab_state().tls_cert or True,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise ServiceUnavailable(f"the API cannot be reached ({type(exc).__name__})") from None


def _upstream(record: dict, path: str) -> tuple[str | None, str]:
    """Where the proxy sends ``path``: the orders API for a session from the identity provider,
    the lab's own ``/api/`` otherwise."""
    if not record.get("issuer"):
        return None, f"/api/{path}"
    orders = current_app.config["BFF_ORDERS_URL"]
    if not orders:
        raise ServiceUnavailable("the BFF has no orders API configured (BFF_ORDERS_URL)")
    return orders.rstrip("/"), f"/{path}"


@bp.route("/bff/api/<path:path>", methods=["GET", "POST", "PUT", "DELETE"])
def proxy(path: str):
    """Call the API for the browser with the session's access token; relay the answer."""
    if not _SAFE_PATH.fullmatch(path) or ".." in path.split("/"):
        # Only plain paths are proxied: no "..", nothing a URL parser could re-interpret.
        raise InvalidRequest("the proxy only forwards plain paths under /api/")
    session_id, record = _session(request, csrf=True)
    state = lab_state()
    try:
        token, _ = token_for_session(
            state.store, state.clock, session_id, _mint_for(session_id, record)
        )
    except TimeoutError:
        # Another request of this session is renewing (a slow provider): never present the
        # refresh token a second time, which reuse detection would rightly take for theft.
        raise ServiceUnavailable(
            "another request of this session is still renewing its access token: try again"
        ) from None
    body = None
    if request.method not in SAFE_METHODS and request.get_data(cache=True):
        body = json_body()  # relayed as JSON: NaN, lone surrogates and repeated keys refused
    base, upstream = _upstream(record, path)
    answer = _http(
        request.method,
        upstream,
        base=base,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
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
    """End the BFF session: delete it, revoke its refresh-token family (at the identity
    provider when it issued it), clear the cookie."""
    session_id, record = _session(request, csrf=True)
    revoked = _end_session(session_id, record, "logged out of the BFF")
    response = jsonify(logged_out=True)
    if record.get("issuer"):
        response = jsonify(logged_out=True, refresh_token_revoked_at_provider=revoked)
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
