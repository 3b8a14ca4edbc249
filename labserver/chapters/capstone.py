"""The capstone's black box (``APP_ROLE "capstone"``): a small app, some of whose endpoints carry
flaws drawn from :mod:`labserver.capstone.catalogue` with a seed. DELIBERATELY VULNERABLE.

Started by ``start_lab(capstone=SEED)`` as ``lab.capstone``, on its own port, sharing the lab's
store and clock; every answer says it is the capstone in an ``X-Lab-Warning`` header. Its index
(``GET /``) lists the endpoints and what they are for, never their flaws. Every endpoint works
for genuine use whatever flaws it carries: a flaw only adds a way in (a verifier that also
takes unsigned tokens, a login that also keeps a planted session ID), so the learner has to
probe to find it. The hardened build (``capstone_hardened=True``) has every flaw off, and
refuses each exploit with the rule it breaks.

The token endpoints' behaviour per flaw is :data:`TOKEN_FLAWS` (keyed by the catalogue's ids);
the two session flaws are in :func:`_new_session_id` and :func:`login`.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import json
import secrets
import shutil
import tempfile
import threading
import warnings
import weakref
from collections.abc import Callable
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from flask import Blueprint, Response, current_app, jsonify, request
from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_decode
from jwt.warnings import InsecureKeyLengthWarning
from werkzeug.security import check_password_hash, generate_password_hash

from .. import strict_json
from ..access_tokens import numeric_date_problem
from ..app import lab_state
from ..capstone.catalogue import FLAWS
from ..capstone.target import draw
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
from ..keys import SigningKey
from ..store import key
from ..users import DEMO_USERS

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
ISSUER, AUDIENCE = "capstone", "capstone-api"
TOKEN_LIFETIME, SESSION_LIFETIME = 300, 8 * 3600
ALGORITHMS = ("ES256", "RS256", "HS256")
VICTIM = "carol"
MAX_FILES, MAX_FILE_BYTES = 100, 16 * 1024

#: What GET / says of each endpoint: what it is for (never how it is wrong).
ENDPOINTS = {
    "GET /": "this index",
    "GET /health": "liveness",
    "GET /pages/<name>": "the shop's pages: help.txt, style.css",
    "GET /cart": "your basket: an anonymous session (cookie sid) before you log in",
    "POST /login": "log in with {username, password}: a session (cookie sid)",
    "GET /account": "who you are, by your session cookie",
    "POST /logout": "end your session",
    "POST /token": "an access token (5 min) and a refresh token for {username, password}; "
    '"alg": ES256 (default), RS256, or HS256 for clients that can only do HMAC',
    "POST /token/refresh": "a new access token for {refresh_token} (each is used once)",
    "GET /.well-known/jwks.json": "the public keys access tokens are signed with",
    "GET /api/profile": "your profile (bearer token)",
    "GET /api/orders": "your orders (bearer token)",
    "GET /api/admin/report": "the sales report (bearer token with the role admin)",
    "POST /api/files": "host a small JSON file (bearer token): its URL comes back",
    "GET /files/<name>": "a hosted file",
}

PAGES = {
    "help.txt": b"Capstone shop: log in as bob (password builder) or alice (wonderland).\n",
    "style.css": b"body { font-family: sans-serif; margin: 2em; }\n",
}

ORDERS = {
    "alice": [{"id": "o-1001", "item": "teapot", "eur": 24}],
    "bob": [{"id": "o-1002", "item": "hammer", "eur": 12}, {"id": "o-1003", "item": "nails"}],
    VICTIM: [{"id": "o-1004", "item": "server rack", "eur": 1900}],
}


class Refused(InvalidToken):
    """401 invalid_token: the one rule the token broke."""


class CapstoneState:
    """One target's state: its description, keys, users, sessions' counter, hosted files."""

    def __init__(self, app) -> None:
        config = app.config
        seed = config["CAPSTONE_SEED"] if config["CAPSTONE_SEED"] is not None else 0
        self.description = draw(
            seed, hardened=bool(config["CAPSTONE_HARDENED"]), flaws=config["CAPSTONE_FLAWS"]
        )
        self.flaws = self.description.flaws
        self.instance = secrets.token_hex(4)  # several targets may share one store
        self.lock = threading.Lock()
        self.counter = itertools.count(self.description.first_session)
        self.files: dict[str, dict] = {}
        self.issued: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.es256 = SigningKey("es256-1", "ES256")
        self.rs256 = SigningKey("rs256-1", "RS256")  # made on first use (RSA takes 0.1 s)
        weak = self.flaws.get("/token") == "weak-secret"
        secret = self.description.weak_secret.encode() if weak else secrets.token_bytes(32)
        self.hs256 = SigningKey("hs256-1", "HS256", secret)
        self.keys = {k.kid: k for k in (self.es256, self.rs256, self.hs256)}
        self.victim_password = secrets.token_urlsafe(16)
        hashes = {u.username: (u.password_hash, u.roles) for u in DEMO_USERS}
        hashes.pop("admin")  # the capstone's only admin is carol, whose password nobody knows
        fast = generate_password_hash(self.victim_password, "pbkdf2:sha256:1000")
        self.users = {**hashes, VICTIM: (fast, ("user", "admin"))}
        self.sandbox = Path(tempfile.mkdtemp(prefix="jwt-lab-capstone-"))
        (self.sandbox / "keys").mkdir()
        (self.sandbox / "pages").mkdir()
        (self.sandbox / "keys" / "hs256-1").write_bytes(secret)
        for name, content in PAGES.items():
            (self.sandbox / "pages" / name).write_bytes(content)
        weakref.finalize(app, shutil.rmtree, self.sandbox, True)
        self.store = app.extensions["lab"].store
        # carol, an admin, logged in when the server started, and stays logged in.
        self.victim_session = self.new_session(VICTIM)

    def session_key(self, sid: str) -> str:
        return key("capstone", self.instance, "session", sid)

    def new_session(self, user: str, sid: str | None = None) -> str:
        if sid is None and self.flaws.get("/login") == "predictable-session":
            with self.lock:
                sid = str(next(self.counter))  # the flaw: a counter, not a random ID
        sid = sid or secrets.token_urlsafe(32)
        name = self.session_key(sid)
        self.store.hset(name, mapping={"user": user})
        self.store.expire(name, SESSION_LIFETIME)
        return sid

    def remember(self, token: str) -> None:
        with self.lock:
            self.issued[hashlib.sha256(token.encode()).hexdigest()] = None
            while len(self.issued) > 10_000:
                self.issued.popitem(last=False)

    def facts(self) -> dict:
        """What the scorer needs: the victim and her session, and which tokens were issued."""
        with self.lock:
            issued = set(self.issued)
        return {
            "victim": VICTIM,
            "victim_password": self.victim_password,
            "victim_session": self.victim_session,
            "issued": issued,
            "rsa_kid": self.rs256.kid,
            "weak_secret": self.description.weak_secret
            if "weak-secret" in self.flaws.values()
            else None,
        }


def init_app(app) -> None:
    app.extensions["capstone"] = CapstoneState(app)


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
    state, now = _state(), int(lab_state().clock.now())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": username,
        "roles": list(roles),
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(16),
    }
    signer = {"ES256": state.es256, "RS256": state.rs256, "HS256": state.hs256}[alg]
    with warnings.catch_warnings():  # a weak secret is short: on purpose, when it is drawn
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        token = jwt.encode(
            claims, signer.signing_key, algorithm=alg, headers={"typ": "at+jwt", "kid": signer.kid}
        )
    state.remember(token)
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


@bp.post("/token/refresh")
def refresh():
    """A new access token (and refresh token) for a refresh token, which is used up."""
    given = string_field(json_object(), "refresh_token", max_length=200)
    state = _state()
    name = key("capstone", state.instance, "refresh", given)
    pipe = state.store.pipeline()
    pipe.hgetall(name)
    pipe.delete(name)
    record, _ = pipe.execute()
    if not record or record.get("user") not in state.users:
        raise InvalidGrant("unknown, used or expired refresh token")
    alg = record.get("alg") if record.get("alg") in ALGORITHMS else "ES256"
    return jsonify(_issue(record["user"], state.users[record["user"]][1], alg))


@bp.get("/.well-known/jwks.json")
def jwks():
    """The public keys (the HMAC secret is never published)."""
    state = _state()
    return jsonify(keys=[state.es256.public_jwk(), state.rs256.public_jwk()])


def _bearer() -> str:
    auth = authorization(request)
    if auth is None or auth.type != "bearer" or not auth.token:
        raise AuthenticationRequired(
            "send a bearer token (POST /token gives one)",
            headers={"WWW-Authenticate": 'Bearer realm="capstone"'},
        )
    if len(auth.token) > 8 * 1024:
        raise Refused("malformed: longer than 8 KiB")
    return auth.token


def _header(token: str) -> dict:
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError) as exc:
        raise Refused(f"malformed: {exc}") from None
    problem = strict_json.problem(header)
    if problem:
        raise Refused(f"malformed: the header is not strict JSON: {problem}")
    return header


def _checked(claims: dict) -> dict:
    """The claim rules every verifier keeps, flawed or not: iss, aud, sub, exp (lab clock)."""
    problem = strict_json.problem(claims)
    if problem:
        raise Refused(f"malformed: the payload is not strict JSON: {problem}")
    if claims.get("iss") != ISSUER:
        raise Refused(f"wrong issuer: iss must be {ISSUER!r}")
    aud = claims.get("aud")
    if aud != AUDIENCE and not (isinstance(aud, list) and AUDIENCE in aud):
        raise Refused(f"wrong audience: aud must be {AUDIENCE!r}")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise Refused("invalid claim: sub must be a non-empty string")
    exp = claims.get("exp")
    problem = numeric_date_problem("exp", exp)
    if problem or exp <= lab_state().clock.now():
        raise Refused(problem or "expired: exp has passed")
    return claims


def _unverified(token: str) -> dict:
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError) as exc:
        raise Refused(f"malformed: {exc}") from None


def _hs256_valid(token: str, secret: bytes) -> bool:
    # PyJWT refuses an empty key and a PEM as HMAC secrets (rightly); the flawed verifiers that
    # need those call its HMAC implementation directly, past that guard, as old libraries did.
    signing_input, _, signature = token.rpartition(".")
    try:
        return HMACAlgorithm(HMACAlgorithm.SHA256).verify(
            signing_input.encode(), secret, base64url_decode(signature.encode())
        )
    except (ValueError, TypeError):
        return False


def _decode(token: str, key_obj, alg: str) -> dict:
    with warnings.catch_warnings():  # a weak or forged key may be short: not news here
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        try:
            claims = jwt.decode(
                token,
                key_obj,
                algorithms=[alg],
                options={
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise Refused("bad signature: it does not verify with that key") from None
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise Refused(f"malformed: {exc}") from None
    return _checked(claims)


def verify_correctly(token: str, header: dict) -> dict:
    """The hardened verifier: the algorithm allowlist, the key from this server's own set by
    kid, one algorithm per key, PyJWT's signature check, then the claims."""
    state = _state()
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise Refused(
            f"algorithm not allowed: {str(alg)[:20]!r} (an unsigned token is never accepted)"
        )
    kid = header.get("kid")
    signer = state.keys.get(kid) if isinstance(kid, str) else None
    if signer is None:
        raise Refused(
            f"unknown key: kid {str(kid)[:60]!r} is not one of this server's keys "
            f"({', '.join(state.keys)}); a key the token brings (jwk, jku) is never used"
        )
    if alg != signer.alg:
        raise Refused(
            f"algorithm not allowed: kid {signer.kid!r} is an {signer.alg} key and the token "
            f"says {alg[:20]!r} (one algorithm per key)"
        )
    return _decode(token, signer.verifying_key, signer.alg)


def _no_verify(token: str, header: dict) -> dict | None:
    return _checked(_unverified(token))


def _alg_none(token: str, header: dict) -> dict | None:
    if str(header.get("alg", "")).lower() == "none":
        return _checked(_unverified(token))
    return None


def _jwk_header(token: str, header: dict) -> dict | None:
    if "jwk" not in header:
        return None
    if not isinstance(header["jwk"], dict):
        raise Refused("malformed: the jwk header must be a JSON object (a JWK)")
    try:
        embedded = jwt.PyJWK(header["jwk"])
    except (KeyError, TypeError, ValueError, NotImplementedError, jwt.PyJWTError) as exc:
        raise Refused(f"no usable jwk header: {exc or type(exc).__name__}") from None
    return _decode(token, embedded.key, embedded.algorithm_name)


def _jku(token: str, header: dict) -> dict | None:
    if "jku" not in header:
        return None
    url, own = header["jku"], lab_state().own_url or ""
    if not isinstance(url, str) or not own or not url.startswith(own + "/"):
        raise Refused("no usable jku: this server fetches key sets from its own URLs only")
    try:
        with requests.Session() as http:
            http.trust_env = False
            key_set = http.get(url, timeout=5, verify=lab_state().tls_cert or True).json()
        jwk = next(k for k in key_set["keys"] if k.get("kid") == header.get("kid"))
        fetched = jwt.PyJWK(jwk)
    except (
        StopIteration,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        NotImplementedError,
        jwt.PyJWTError,
        requests.RequestException,
    ) as exc:
        raise Refused(f"no usable key at the jku URL: {str(exc)[:100]}") from None
    return _decode(token, fetched.key, fetched.algorithm_name)


def _kid_path(token: str, header: dict) -> dict | None:
    if header.get("alg") != "HS256":
        return None
    kid, sandbox = header.get("kid"), _state().sandbox
    if not isinstance(kid, str) or "\x00" in kid or len(kid) > 200 or strict_json.problem(kid):
        raise Refused("unknown key: the kid is not a usable file name")
    try:
        path = (sandbox / "keys" / kid).resolve()
        usable = path.is_relative_to(sandbox.resolve()) and path.is_file()
    except (OSError, ValueError):
        usable = False
    if not usable:
        raise Refused(f"unknown key: no key file {kid[:60]!r}")
    if not _hs256_valid(token, path.read_bytes()):
        raise Refused("bad signature: it does not verify with that key")
    return _checked(_unverified(token))


def _alg_confusion(token: str, header: dict) -> dict | None:
    state = _state()
    if header.get("alg") != "HS256" or header.get("kid") != state.rs256.kid:
        return None
    pem = state.rs256.verifying_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if not _hs256_valid(token, pem):
        raise Refused("bad signature: it does not verify with that key")
    return _checked(_unverified(token))


#: How a bearer endpoint with each token flaw verifies: the flaw's own way in, tried first
#: (``None``: "not my kind of token", and the hardened verifier decides).
TOKEN_FLAWS: dict[str, Callable[[str, dict], dict | None]] = {
    "no-verify": _no_verify,
    "alg-none": _alg_none,
    "jwk-header": _jwk_header,
    "jku": _jku,
    "kid-path": _kid_path,
    "alg-confusion": _alg_confusion,
}
#: Flaws that sit elsewhere (the token endpoint's secret, the login's session IDs).
OTHER_FLAWS = ("weak-secret", "predictable-session", "session-fixation")


def _caller(place: str) -> dict:
    """The verified claims of the bearer token, by ``place``'s verifier (flawed or not)."""
    token = _bearer()
    header = _header(token)
    flaw = _state().flaws.get(place)
    claims = TOKEN_FLAWS[flaw](token, header) if flaw in TOKEN_FLAWS else None
    if claims is None:
        claims = verify_correctly(token, header)
    roles = claims.get("roles")
    roles = [r for r in roles if isinstance(r, str)][:10] if isinstance(roles, list) else []
    return {"sub": claims["sub"][:64], "roles": roles}


@bp.get("/api/profile")
def profile():
    caller = _caller("/api/profile")
    known = caller["sub"] in _state().users
    return jsonify(
        caller=caller,
        profile={
            "display_name": caller["sub"].title() if known else None,
            "email": f"{caller['sub']}@shop.example" if known else None,
        },
    )


@bp.get("/api/orders")
def orders():
    caller = _caller("/api/orders")
    return jsonify(caller=caller, orders=ORDERS.get(caller["sub"], []))


@bp.get("/api/admin/report")
def admin_report():
    caller = _caller("/api/admin/report")
    if "admin" not in caller["roles"]:
        raise Forbidden(f"the sales report needs the role 'admin'; the token has {caller['roles']}")
    total = sum(o.get("eur", 0) for orders in ORDERS.values() for o in orders)
    return jsonify(caller=caller, report={"orders": sum(map(len, ORDERS.values())), "eur": total})


@bp.post("/api/files")
def upload():
    """Host a small JSON file (any user may, as many sites let users host files)."""
    verify_correctly(token := _bearer(), _header(token))
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


def check_catalogue() -> list[str]:
    """Flaws of the catalogue that this module has no behaviour for (should be none)."""
    handled = set(TOKEN_FLAWS) | set(OTHER_FLAWS)
    return sorted(set(FLAWS) - handled)
