"""The capstone's black box (``APP_ROLE "capstone"``): a small app, some of whose endpoints carry
flaws drawn from :mod:`labserver.capstone.catalogue` with a seed. DELIBERATELY VULNERABLE.

Started by ``start_lab(capstone=SEED)`` as ``lab.capstone``, on its own port, sharing the lab's
store and clock; every answer says it is the capstone in an ``X-Lab-Warning`` header. Its index
(``GET /``) lists the endpoints and what they are for, never their flaws. Every endpoint works
for genuine use whatever flaws it carries: a flaw only adds a way in (a verifier that also
takes unsigned tokens, a login that also keeps a planted session ID), so the learner has to
probe to find it. The hardened build (``capstone_hardened=True``) has every flaw off, and
refuses each exploit with the rule it breaks.

How a bearer endpoint verifies, per flaw, is :mod:`labserver.capstone.verify`; the session
flaws are in :mod:`labserver.capstone.state` (the counter) and :func:`login` (fixation); the
weak secret is the state's HS256 key; the unbound refresh is :func:`refresh`'s; the token in a
URL is :func:`init_app`'s (the one endpoint that takes it opts out of
:mod:`labserver.url_tokens`' refusal, which every other endpoint keeps) and :func:`_bearer`'s.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.security import check_password_hash

from .. import url_tokens
from ..app import lab_state
from ..capstone.catalogue import FLAWS
from ..capstone.state import (
    DASHBOARD_EVERY,
    PAGES,
    SESSION_LIFETIME,
    TOKEN_LIFETIME,
    VICTIM,
    CapstoneState,
)
from ..capstone.verify import TOKEN_FLAWS, Refused
from ..config import Option
from ..http_errors import (
    AuthenticationRequired,
    Forbidden,
    InvalidCredentials,
    InvalidGrant,
    InvalidRequest,
    InvalidSession,
    InvalidToken,
    NotFound,
)
from ..inputs import authorization, json_object, string_field
from ..store import key

bp = Blueprint("capstone", __name__)

ROLES = ("capstone",)

OPTIONS = (
    Option("CAPSTONE_SEED", None, "The capstone's seed (start_lab(capstone=SEED)): its flaws."),
    Option("CAPSTONE_HARDENED", False, "The capstone's hardened build: the same app, no flaw."),
    Option(
        "CAPSTONE_FLAWS",
        None,
        "Put these flaws on these capstone endpoints ({endpoint: flaw id}) instead of drawing "
        "them (for tests and instructors).",
    ),
)

WARNING = "DELIBERATELY VULNERABLE capstone target of the JWT lab: never copy this code"
HARDENED_WARNING = "capstone target of the JWT lab, hardened build"
ALGORITHMS = ("ES256", "RS256", "HS256")
MAX_FILES, MAX_FILE_BYTES = 100, 16 * 1024
#: The most lines GET /logs/access returns.
MAX_LOG_LINES = 200

#: What GET / says of each endpoint: what it is for (never how it is wrong).
ENDPOINTS = {
    "GET /": "this index",
    "GET /health": "liveness",
    "GET /pages/<name>": "the shop's pages: help.txt, style.css, incident.txt",
    "GET /cart": "your basket: an anonymous session (cookie sid) before you log in",
    "POST /login": "log in with {username, password}: a session (cookie sid)",
    "GET /account": "who you are, by your session cookie",
    "POST /logout": "end your session",
    "POST /token": "an access token (5 min) and a refresh token for {username, password}; "
    '"alg": ES256 (default), RS256, or HS256 for clients that can only do HMAC',
    "POST /token/refresh": "a new access token for {refresh_token} (each is used once), and "
    "optionally the access token it replaces, expired or not, as access_token",
    "GET /.well-known/jwks.json": "the public keys access tokens are signed with",
    "GET /api/profile": "your profile (bearer token)",
    "GET /api/orders": "your orders (bearer token)",
    "GET /api/admin/report": "the sales report (bearer token with the role admin)",
    "POST /api/files": "host a small JSON file (bearer token): its URL comes back",
    "GET /files/<name>": "a hosted file",
    "GET /logs/access": "the server's access log, its last n requests (?n=, default 20): a "
    "debug page left on",
}

ORDERS = {
    "alice": [{"id": "o-1001", "item": "teapot", "eur": 24}],
    "bob": [{"id": "o-1002", "item": "hammer", "eur": 12}, {"id": "o-1003", "item": "nails"}],
    VICTIM: [{"id": "o-1004", "item": "server rack", "eur": 1900}],
}


def init_app(app) -> None:
    """This target's state, drawn from its seed (see labserver.capstone.state); and no
    credential in a URL (:mod:`labserver.url_tokens`), but where ``token-in-url`` is drawn:
    that endpoint, in this app only, takes one, and the access log keeps its URLs whole."""
    state = app.extensions["capstone"] = CapstoneState(app)
    app.before_request(url_tokens.refuse_tokens_in_query)
    for place, flaw_id in state.flaws.items():
        if flaw_id == "token-in-url":
            rule = next(r for r in app.url_map.iter_rules() if r.rule == place)
            view = app.view_functions[rule.endpoint]
            # a wrapper of this app's own: the blueprint's view stays unmarked for other apps
            app.view_functions[rule.endpoint] = url_tokens.takes_token_in_query(
                functools.wraps(view)(lambda *args, _view=view, **kwargs: _view(*args, **kwargs))
            )
            app.extensions["lab"].request_log.keep_full_urls_under(place)


def _state() -> CapstoneState:
    return current_app.extensions["capstone"]


@bp.after_request
def announce(response):
    hardened = current_app.extensions["capstone"].description.hardened
    response.headers["X-Lab-Warning"] = HARDENED_WARNING if hardened else WARNING
    return response


# --- pages ------------------------------------------------------------------------------------


@bp.get("/")
def index():
    """What this app is, and every endpoint with what it is for."""
    return jsonify(
        app="Capstone shop: a black box with flaws drawn from chapter 09's catalogue",
        your_account={"username": "bob", "password": "builder"},
        goal="become admin (GET /api/admin/report), or take over carol's session (an admin)",
        endpoints=ENDPOINTS,
    )


@bp.get("/health")
def health():
    return jsonify(status="ok")


@bp.get("/pages/<name>")
def page(name: str):
    if name not in PAGES:
        raise NotFound(f"no page {name[:60]!r}; there are {', '.join(PAGES)}")
    return Response((_state().sandbox / "pages" / name).read_bytes(), mimetype="text/plain")


# --- sessions ---------------------------------------------------------------------------------


def _session_cookie(response, sid: str) -> None:
    response.set_cookie("sid", sid, httponly=True, samesite="Lax", path="/")


def _session() -> tuple[str, dict] | None:
    sid = request.cookies.get("sid", "")
    if not sid or len(sid) > 200:
        return None
    record = _state().store.hgetall(_state().session_key(sid))
    return (sid, record) if record else None


@bp.get("/cart")
def cart():
    """The basket of this browser's session; a new anonymous session if it has none."""
    found = _session()
    if found is None:
        sid = _state().new_session("")
        response = jsonify(items=[], session="new, anonymous (cookie sid)")
        _session_cookie(response, sid)
        return response
    return jsonify(items=[], user=found[1].get("user") or None)


def _password_user(body: dict) -> tuple[str, tuple[str, ...]]:
    username = string_field(body, "username", max_length=64)
    password = string_field(body, "password", max_length=256)
    stored = _state().users.get(username)
    if stored is None or not check_password_hash(stored[0], password):
        raise InvalidCredentials("wrong username or password")
    return username, stored[1]


@bp.post("/login")
def login():
    """A session for {username, password}, in the cookie sid."""
    username, _ = _password_user(json_object())
    state, found = _state(), _session()
    if found is not None and state.flaws.get("/login") == "session-fixation":
        sid = state.new_session(username, found[0])  # the flaw: the browser's ID is kept
    else:
        if found is not None:
            state.store.delete(state.session_key(found[0]))
        sid = state.new_session(username)
    response = jsonify(user=username, session="in the cookie sid")
    _session_cookie(response, sid)
    return response


@bp.get("/account")
def account():
    """Who this session belongs to."""
    if not request.cookies.get("sid"):
        raise AuthenticationRequired("send the session cookie sid (POST /login gives one)")
    found = _session()
    if found is None:
        raise InvalidSession("no such session (unknown, ended, or expired)")
    user = found[1].get("user")
    if not user:
        raise InvalidSession("this session is not logged in (an anonymous session: log in first)")
    roles = list(_state().users.get(user, ("", ()))[1])
    return jsonify(user=user, roles=roles, orders=len(ORDERS.get(user, [])))


@bp.post("/logout")
def logout():
    found = _session()
    if found is None:
        raise InvalidSession("no session to end")
    _state().store.delete(_state().session_key(found[0]))
    response = jsonify(logged_out=True)
    response.delete_cookie("sid", path="/")
    return response


# --- tokens -----------------------------------------------------------------------------------


def _issue(username: str, roles, alg: str) -> dict:
    state = _state()
    token = state.sign(username, roles, alg, int(lab_state().clock.now()))
    refresh = secrets.token_urlsafe(32)
    name = key("capstone", state.instance, "refresh", refresh)
    state.store.hset(name, mapping={"user": username, "alg": alg})
    state.store.expire(name, SESSION_LIFETIME)
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME,
        "refresh_token": refresh,
    }


@bp.post("/token")
def token():
    """An access token and a refresh token for {username, password[, alg]}."""
    body = json_object()
    username, roles = _password_user(body)
    alg = body.get("alg", "ES256")
    if alg not in ALGORITHMS:
        raise InvalidRequest(f"'alg' must be one of {', '.join(ALGORITHMS)}")
    return jsonify(_issue(username, roles, alg))


def _replaced_subject(body: dict) -> str | None:
    """The subject of the access token the refresh replaces (``access_token``, optional): one
    this target signed, every rule checked but expiry."""
    if "access_token" not in body:
        return None
    old = string_field(body, "access_token", max_length=8 * 1024)
    try:
        return _state().verifier.even_if_expired(old)["sub"]
    except Refused as exc:
        raise InvalidGrant(f"the access token is refused: {exc}") from None


@bp.post("/token/refresh")
def refresh():
    """A new access token (and refresh token) for a refresh token, which is used up."""
    body = json_object()
    given = string_field(body, "refresh_token", max_length=200)
    replaced = _replaced_subject(body)
    state = _state()
    name = key("capstone", state.instance, "refresh", given)
    pipe = state.store.pipeline()
    pipe.hgetall(name)
    pipe.delete(name)
    record, _ = pipe.execute()
    if not record or record.get("user") not in state.users:
        raise InvalidGrant("unknown, used or expired refresh token")
    user = record["user"]
    if replaced is not None and replaced != user:
        if state.flaws.get("/token/refresh") != "unbound-refresh":
            raise InvalidGrant(
                f"the refresh token is bound to its user {user!r}, and the access token it "
                f"would replace belongs to {replaced[:64]!r} (RFC 6749 sections 6 and 10.4)"
            )
        user = replaced  # the flaw: the new token is for the old token's subject
        if user not in state.users:
            raise InvalidGrant("the access token's user does not exist")
    alg = record.get("alg") if record.get("alg") in ALGORITHMS else "ES256"
    return jsonify(_issue(user, state.users[user][1], alg))


@bp.get("/.well-known/jwks.json")
def jwks():
    """The public keys (the HMAC secret is never published)."""
    state = _state()
    return jsonify(keys=[state.es256.public_jwk(), state.rs256.public_jwk()])


def _bearer() -> str:
    """The bearer token: from the Authorization header, or, where the endpoint takes it from
    the URL (``token-in-url``: the refusal of labserver.url_tokens let it through), from
    ``?access_token=``."""
    if "access_token" in request.args and _state().flaws.get(request.path) == "token-in-url":
        values = request.args.getlist("access_token")
        if len(values) > 1 or request.headers.get("Authorization") or not values[0]:
            raise InvalidRequest("send one access_token, and no Authorization header with it")
        return values[0]
    auth = authorization(request)
    if auth is None or auth.type != "bearer" or not auth.token:
        raise AuthenticationRequired(
            "send a bearer token (POST /token gives one)",
            headers={"WWW-Authenticate": 'Bearer realm="capstone"'},
        )
    return auth.token


def _verified(flaw: str | None = None) -> dict:
    """The bearer token's claims as a verifier with ``flaw`` (None: hardened) trusts them."""
    try:
        return _state().verifier.verify(_bearer(), flaw)
    except Refused as exc:
        raise InvalidToken(str(exc)) from None


def _caller(place: str) -> dict:
    """Who the bearer token says the caller is, by ``place``'s verifier (flawed or not)."""
    claims = _verified(_state().flaws.get(place))
    roles = claims.get("roles")
    roles = [r for r in roles if isinstance(r, str)][:10] if isinstance(roles, list) else []
    return {"sub": claims["sub"][:64], "roles": roles}


@bp.get("/api/profile")
def profile():
    caller = _caller("/api/profile")
    known = caller["sub"] in _state().users
    return jsonify(
        **caller,
        profile={
            "display_name": caller["sub"].title() if known else None,
            "email": f"{caller['sub']}@shop.example" if known else None,
        },
    )


@bp.get("/api/orders")
def orders():
    caller = _caller("/api/orders")
    return jsonify(**caller, orders=ORDERS.get(caller["sub"], []))


@bp.get("/api/admin/report")
def admin_report():
    caller = _caller("/api/admin/report")
    if "admin" not in caller["roles"]:
        raise Forbidden(f"the sales report needs the role 'admin'; the token has {caller['roles']}")
    total = sum(o.get("eur", 0) for orders in ORDERS.values() for o in orders)
    return jsonify(**caller, report={"orders": sum(map(len, ORDERS.values())), "eur": total})


@bp.post("/api/files")
def upload():
    """Host a small JSON file (any user may, as many sites let users host files)."""
    _verified()
    body = json_object()
    if len(json.dumps(body)) > MAX_FILE_BYTES:
        raise InvalidRequest(f"files are limited to {MAX_FILE_BYTES // 1024} KiB")
    state = _state()
    name = secrets.token_hex(8)
    with state.lock:
        if len(state.files) >= MAX_FILES:
            state.files.pop(next(iter(state.files)))
        state.files[name] = body
    return jsonify(url=f"{lab_state().own_url or ''}/files/{name}")


@bp.get("/files/<name>")
def hosted(name: str):
    file = _state().files.get(name)
    if file is None:
        raise NotFound("no such file")
    return jsonify(file)


@bp.get("/logs/access")
def access_log():
    """The last ``n`` requests as the server's log holds them (what anyone who reads its logs
    gets), after carol's dashboard has made its call of the minute."""
    n = request.args.get("n", "20")
    if not (n.isascii() and n.isdigit() and 0 < int(n) <= MAX_LOG_LINES):
        raise InvalidRequest(f"n must be a whole number from 1 to {MAX_LOG_LINES}")
    _dashboard_polls()
    entries = lab_state().request_log.last(int(n))
    return jsonify(lines=[f"{e.method} {e.path} {e.status}" for e in entries])


def _dashboard_polls() -> None:
    """carol's dashboard: once a minute of lab time, her orders, the token in the URL (a client
    that does what RFC 6750 section 2.3 says it SHOULD NOT; refused where the server refuses
    it)."""
    state, now = _state(), lab_state().clock.now()
    with state.lock:
        if state.dashboard_polled is not None and now - state.dashboard_polled < DASHBOARD_EVERY:
            return
        state.dashboard_polled = now
    token = state.sign(VICTIM, state.users[VICTIM][1], "ES256", int(now))
    with state.lock:
        state.url_tokens.add(hashlib.sha256(token.encode()).hexdigest())
    dashboard = current_app.test_client(use_cookies=False)
    dashboard.get(
        "/api/orders",
        query_string={"access_token": token},
        headers={"User-Agent": "carol's dashboard"},
    )


#: Flaws that are not a bearer endpoint's: the token endpoints', the login's sessions, and the
#: token in a URL (the bearer is read from the query, then verified as the hardened way).
OTHER_FLAWS = (
    "weak-secret",
    "unbound-refresh",
    "token-in-url",
    "predictable-session",
    "session-fixation",
)


def check_catalogue() -> list[str]:
    """Flaws of the catalogue that the capstone has no behaviour for (should be none)."""
    handled = set(TOKEN_FLAWS) | set(OTHER_FLAWS)
    return sorted(set(FLAWS) - handled)
