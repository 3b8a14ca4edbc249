"""Chapter 9: DELIBERATELY VULNERABLE endpoints, one weakness each. Never in a default lab.

Mounted only by ``start_lab(vulnerable=True)`` (config ``VULNERABLE_ENDPOINTS``), under
``/vulnerable/``, and every answer says so in a header and in its body. Each endpoint is wrong in
exactly one way, so that each attack in notebook 09 has one cause:

=========================  =====================================================================
endpoint                   its one mistake
=========================  =====================================================================
``no-verify/me``           reads the claims without checking the signature at all
``alg-none/me``            accepts ``alg: none`` (an unsigned token)
``weak-secret/me``         HS256 with a secret from a word list (``/vulnerable/weak-secret/token``
                           issues tokens signed with it)
``jwk-header/me``          verifies with the public key the token carries in its ``jwk`` header
``jku/me``                 fetches the key set from the token's ``jku`` URL (only URLs of this lab
                           are fetched, so nothing leaves the machine; ``/vulnerable/uploads`` lets
                           anyone host a file here, as many sites do)
``kid-path/me``            reads the key from a file named by ``kid``, without checking the path
                           (inside a sandbox folder the lab creates, with a known empty file)
``alg-confusion/me``       verifies HS256 with the RSA *public* key's PEM as the HMAC secret,
                           bypassing the guard PyJWT has against exactly that
``kid-sql/me``             finds the HS256 secret with SQL built by pasting in the ``kid``
                           (``/vulnerable/kid-sql/token`` issues tokens under its one real kid;
                           the key table is a read-only SQLite database, see
                           :mod:`labserver.key_table`)
``x5c/me``                 verifies with the key of the token's own ``x5c`` certificate, once the
                           chain hangs together, never asking if its root is one it trusts
                           (:mod:`labserver.x5c`)
``unbound-refresh/token``  the password grant and the refresh grant with the lab's refresh
                           tokens; a refresh issues the new token for the subject and client of
                           the (expired) access token sent along, not for the refresh token's
                           owner
``session/login``          predictable session IDs (a counter; every other session ID is random)
``session/login-keep-id``  keeps a session ID the browser came with (fixation)
=========================  =====================================================================

The hardened counterparts are the lab's own: ``/api/me`` for tokens, ``/oauth/token`` for the
refresh grant, ``/session/...`` for sessions.
"""

from __future__ import annotations

import itertools
import json
import secrets
import shutil
import sqlite3
import tempfile
import threading
import warnings
import weakref
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from flask import Blueprint, current_app, jsonify, request
from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_decode
from jwt.warnings import InsecureKeyLengthWarning

from .. import strict_json, x5c
from ..access_tokens import (
    MAX_TOKEN_LENGTH,
    TokenRejected,
    access_token_claims,
    issue_access_token,
    numeric_date_problem,
    verify_access_token,
)
from ..app import lab_state
from ..auth import login_still_current, password_login
from ..config import Option
from ..http_errors import (
    AuthenticationRequired,
    InvalidGrant,
    InvalidRequest,
    LabError,
    NotFound,
)
from ..inputs import authorization, json_object, string_field
from ..key_table import KeyTable
from ..refresh_tokens import (
    RefreshRejected,
    issue_refresh_token,
    revoke_refresh_token,
    use_refresh_token,
)
from ..store import key
from ..users import get_user
from .tokens import policy

bp = Blueprint("vulnerable", __name__, url_prefix="/vulnerable")

#: create_app registers this blueprint only when this config key is true.
REGISTER_IF = "VULNERABLE_ENDPOINTS"

OPTIONS = (
    Option(
        "VULNERABLE_ENDPOINTS",
        False,
        "Mount chapter 9's deliberately vulnerable endpoints under /vulnerable/ "
        "(start_lab(vulnerable=True)).",
    ),
    Option(
        "WEAK_SECRET",
        "changeme",
        "The weak HS256 secret of /vulnerable/weak-secret (it is in the word list).",
    ),
)

WARNING = "DELIBERATELY VULNERABLE endpoint (chapter 9 of the JWT lab): never copy this code"
WORDLIST = Path(__file__).resolve().parents[1] / "data" / "wordlist.txt"


class Refused(LabError):
    """401 from a vulnerable endpoint (even they refuse garbage)."""

    status = 401
    error = "invalid_token"


def init_app(app) -> None:
    """The sandbox folder for the kid-path endpoint (a key file, and a known empty file), and
    the key table of the kid-sql endpoint."""
    folder = Path(tempfile.mkdtemp(prefix="jwt-lab-kid-sandbox-"))
    (folder / "keys").mkdir()
    (folder / "public").mkdir()
    (folder / "keys" / "signing.key").write_bytes(secrets.token_bytes(32))
    (folder / "public" / "empty.txt").write_bytes(b"")
    weakref.finalize(app, shutil.rmtree, folder, True)
    app.extensions["lab.vulnerable"] = {
        "sandbox": folder,
        "key_table": KeyTable.random(),
        "counter": itertools.count(1001),
        "lock": threading.Lock(),
        "uploads": {},
    }


@bp.after_request
def announce(response):
    response.headers["X-Lab-Warning"] = WARNING
    return response


def _state() -> dict:
    return current_app.extensions["lab.vulnerable"]


def _token() -> str:
    auth = authorization(request)
    if auth is None or auth.type != "bearer" or not auth.token:
        raise AuthenticationRequired("send a bearer token")
    return auth.token


def _header(token: str) -> dict:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Refused(f"unreadable token: {exc}") from None


def _accepted(claims: dict, how: str):
    problem = strict_json.problem(claims)
    if problem:  # the answer must stay JSON; the mistake being shown is elsewhere
        raise Refused(f"the payload is not strict JSON: {problem}")
    return jsonify(
        warning=WARNING, accepted=True, how=how, sub=claims.get("sub"), roles=claims.get("roles")
    )


def _audience() -> str:
    return current_app.config["TOKEN_AUDIENCE"]


# Apart from its one mistake, each endpoint (but no-verify, whose mistake is to check nothing)
# checks issuer, audience and expiry, the latter against the lab clock like the rest of the lab
# (PyJWT's own time checks use the machine's clock, which the lab may have moved past).
_NO_TIME_CHECKS = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}


def _fresh(claims: dict) -> dict:
    exp = claims.get("exp")
    problem = numeric_date_problem("exp", exp)  # NaN or Infinity would never expire
    if problem or exp <= lab_state().clock.now():
        raise Refused(problem or "the token has expired")
    return claims


def _decode(token: str, key, algorithms: list[str]) -> dict:
    """Verify signature, issuer and audience with PyJWT, expiry against the lab clock."""
    # A forged jwk or jku key may be a 3-byte HMAC secret: PyJWT rightly warns, from the server
    # thread, into whichever notebook cell runs. The weakness is the point here, not news.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=_audience(),
            issuer=current_app.config["TOKEN_ISSUER"],
            options=_NO_TIME_CHECKS,
        )
    return _fresh(claims)


def _checked_claims(token: str) -> dict:
    """For endpoints whose one mistake is in the signature step: every other rule still holds
    (issuer, audience, expiry). PyJWT turns those checks off with verify_signature=False unless
    they are asked for."""
    return _fresh(
        jwt.decode(
            token,
            audience=_audience(),
            issuer=current_app.config["TOKEN_ISSUER"],
            options={
                **_NO_TIME_CHECKS,
                "verify_signature": False,
                "verify_aud": True,
                "verify_iss": True,
            },
        )
    )


# --- tokens ---------------------------------------------------------------------------------


@bp.get("/no-verify/me")
def no_verify():
    """Mistake: nothing is checked: the claims are read as they are (no signature, and so, in
    PyJWT, no expiry or audience either)."""
    token = _token()
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise Refused(str(exc)) from None
    if not isinstance(claims.get("sub"), str):
        raise Refused("the token names no subject")
    return _accepted(claims, "read the claims without verifying anything")


@bp.get("/alg-none/me")
def alg_none():
    """Mistake: an unsigned token is taken at its word; signed ones are verified properly."""
    token = _token()
    header = _header(token)
    try:
        if str(header.get("alg", "")).lower() == "none":
            claims = _checked_claims(token)
        else:
            key = lab_state().keys.get(str(header.get("kid")))
            if key is None:
                raise Refused("unknown kid")
            claims = _decode(token, key.verifying_key, [key.alg])
    except jwt.PyJWTError as exc:
        raise Refused(str(exc)) from None
    return _accepted(claims, f"alg {header.get('alg')!r} accepted")


def _claims_for(user, client_id: str | None = None, **extra) -> dict:
    """The claims of a lab access token for ``user``, as the lab's own token endpoint makes them
    (issuer, audience, lifetime from the config; times from the lab clock)."""
    config = current_app.config
    return access_token_claims(
        user.username,
        issuer=config["TOKEN_ISSUER"],
        audience=config["TOKEN_AUDIENCE"],
        now=lab_state().clock.now(),
        lifetime=config["TOKEN_LIFETIME"],
        **({"client_id": client_id} if client_id is not None else {}),
        extra={"roles": list(user.roles), **extra},
    )


@bp.post("/weak-secret/token")
def weak_secret_token():
    """A token endpoint whose HS256 secret is a word from a list."""
    user = password_login()
    config = current_app.config
    claims = _claims_for(user)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        token = jwt.encode(
            claims, config["WEAK_SECRET"], algorithm="HS256", headers={"typ": "at+jwt"}
        )
    return jsonify(warning=WARNING, access_token=token, token_type="Bearer")


@bp.get("/weak-secret/me")
def weak_secret():
    """Verified correctly, but with a guessable secret."""
    try:  # _decode silences PyJWT's (right) warning that the key is short: it is the point
        claims = _decode(_token(), current_app.config["WEAK_SECRET"], ["HS256"])
    except jwt.InvalidTokenError as exc:
        raise Refused(str(exc)) from None
    return _accepted(claims, "HS256 with a secret from a word list")


@bp.get("/jwk-header/me")
def jwk_header():
    """Mistake: the verifying key is the one the token brings in its own jwk header."""
    token = _token()
    header = _header(token)
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise Refused(f"the jwk header must be a JSON object (a JWK), not {type(jwk).__name__}")
    try:
        embedded = jwt.PyJWK(jwk)
        claims = _decode(token, embedded.key, [embedded.algorithm_name])
    except (KeyError, TypeError, ValueError, NotImplementedError, jwt.PyJWTError) as exc:
        # NotImplementedError: PyJWK of {"kty": "oct", "alg": "none"} (no key to verify with)
        raise Refused(f"no usable jwk header: {exc or type(exc).__name__}") from None
    return _accepted(claims, "verified with the key the token itself carried")


@bp.post("/uploads")
def upload():
    """Anyone may host a small JSON file here (as many sites let users host files)."""
    body = json_object()
    if len(json.dumps(body)) > 16 * 1024:
        raise InvalidRequest("uploads are limited to 16 KiB")
    name = secrets.token_hex(8)
    _state()["uploads"][name] = body
    return jsonify(warning=WARNING, url=f"{lab_state().own_url}/vulnerable/uploads/{name}")


@bp.get("/uploads/<name>")
def uploaded(name: str):
    if name not in _state()["uploads"]:
        raise NotFound("no such upload")
    return jsonify(_state()["uploads"][name])


@bp.get("/jku/me")
def jku():
    """Mistake: the key set is fetched from the URL the token names (SSRF, and a key of the
    attacker's choosing). Only this lab's own URLs are fetched, so nothing leaves the machine."""
    token = _token()
    header = _header(token)
    url = str(header.get("jku", ""))
    own = lab_state().own_url or ""
    if not own or not url.startswith(own + "/"):
        raise Refused("this lab fetches jku URLs on itself only (so nothing leaves the machine)")
    try:
        with requests.Session() as http:
            http.trust_env = False
            key_set = http.get(url, timeout=5, verify=lab_state().tls_cert or True).json()
        jwk = next(k for k in key_set["keys"] if k.get("kid") == header.get("kid"))
        key_obj = jwt.PyJWK(jwk)
        claims = _decode(token, key_obj.key, [key_obj.algorithm_name])
    except (
        StopIteration,
        KeyError,
        TypeError,
        ValueError,
        jwt.PyJWTError,
        requests.RequestException,
    ) as exc:
        raise Refused(f"no usable key at the jku URL: {exc}") from None
    return _accepted(claims, f"verified with a key fetched from {url}")


@bp.get("/kid-path/me")
def kid_path():
    """Mistake: the kid is a file path, used without checking it (inside a sandbox here)."""
    token = _token()
    header = _header(token)
    sandbox = _state()["sandbox"]
    kid = header.get("kid", "")
    if not isinstance(kid, str) or "\x00" in kid or len(kid) > 200 or strict_json.problem(kid):
        # The one mistake is trusting the path; a name no file system takes is just refused.
        raise Refused("the kid is not a usable file name (a string of at most 200 characters)")
    try:
        target = (sandbox / "keys" / kid).resolve()
        usable = target.is_relative_to(sandbox.resolve()) and target.is_file()
    except OSError:  # e.g. a path component longer than the file system allows
        usable = False
    if not usable:
        raise Refused("no such key file in the sandbox")
    if header.get("alg") != "HS256":
        raise Refused("this endpoint's keys are HS256 keys")
    secret = target.read_bytes()
    # The empty key is exactly what the attack relies on. PyJWT refuses an empty HMAC key, so
    # this endpoint calls PyJWT's HMAC implementation directly, past that guard, as old
    # libraries did.
    signing_input, _, signature = token.rpartition(".")
    try:
        valid = HMACAlgorithm(HMACAlgorithm.SHA256).verify(
            signing_input.encode(), secret, base64url_decode(signature.encode())
        )
        if not valid:
            raise Refused("bad HS256 signature")
        claims = _checked_claims(token)
    except (jwt.PyJWTError, ValueError) as exc:
        raise Refused(str(exc)) from None
    return _accepted(claims, f"HS256 with the {len(secret)}-byte file {header.get('kid')!r}")


def rsa_public_pem() -> bytes:
    """The PEM of the lab's current RS256 public key (what its JWKS publishes, as a PEM)."""
    return (
        lab_state()
        .keys.current("RS256")
        .verifying_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


@bp.get("/alg-confusion/me")
def alg_confusion():
    """Mistake: a verifier written for "RS256 or HS256" passes its one key, the RSA public key,
    to HS256 too. Old libraries did exactly this; PyJWT refuses such a key, so this endpoint
    calls PyJWT's HMAC implementation directly, past that guard."""
    token = _token()
    header = _header(token)
    rsa_key = lab_state().keys.current("RS256")
    try:
        if header.get("alg") == "HS256":
            signing_input, _, signature = token.rpartition(".")
            if not HMACAlgorithm(HMACAlgorithm.SHA256).verify(
                signing_input.encode(), rsa_public_pem(), base64url_decode(signature.encode())
            ):
                raise Refused("bad HS256 signature")
            claims = _checked_claims(token)
        else:
            claims = _decode(token, rsa_key.verifying_key, ["RS256"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise Refused(str(exc)) from None
    return _accepted(claims, f"alg {header.get('alg')} with the RSA public key")


def key_table(app=None) -> KeyTable:
    """The key table of the kid-sql endpoint (of ``app``, default the current one)."""
    return (app or current_app).extensions["lab.vulnerable"]["key_table"]


@bp.post("/kid-sql/token")
def kid_sql_token():
    """A token endpoint signing HS256 with the key table's one real key, named in ``kid``."""
    user = password_login()
    (kid,) = key_table().kids
    claims = _claims_for(user)
    token = jwt.encode(
        claims,
        key_table().hardened_lookup(kid),
        algorithm="HS256",
        headers={"typ": "at+jwt", "kid": kid},
    )
    return jsonify(warning=WARNING, access_token=token, token_type="Bearer")


@bp.get("/kid-sql/me")
def kid_sql():
    """Mistake: the secret is found by SQL with the kid pasted in (SQL injection)."""
    token = _token()
    header = _header(token)
    kid = header.get("kid")
    if not isinstance(kid, str) or strict_json.problem(kid):
        raise Refused("the kid must be a string (a key name in the key table)")
    if header.get("alg") != "HS256":
        raise Refused("this endpoint's keys are HS256 keys")
    try:
        secret = key_table().vulnerable_lookup(kid)
    except (sqlite3.Error, ValueError) as exc:  # the query the kid made is not valid SQL
        raise Refused(f"the key lookup failed: {type(exc).__name__}: {str(exc)[:200]}") from None
    if secret is None:
        raise Refused(f"no key {kid[:40]!r} in the key table")
    if isinstance(secret, str):
        secret = secret.encode()
    if not isinstance(secret, bytes):
        raise Refused(f"the key lookup gave a {type(secret).__name__}, not a secret")
    try:
        claims = _decode(token, secret, ["HS256"])
    except jwt.PyJWTError as exc:  # also an empty secret: PyJWT refuses to HMAC with it
        raise Refused(str(exc)) from None
    return _accepted(claims, f"HS256 with the {len(secret)}-byte secret the key query returned")


@bp.get("/x5c/me")
def x5c_header():
    """Mistake: verified with the key of the first certificate of the token's x5c chain, once
    the chain hangs together (validity on the lab clock, each issued by the next), without
    asking whether its root is a trust anchor this server holds."""
    token = _token()
    header = _header(token)
    try:
        leaf = x5c.unanchored_leaf(header.get("x5c"), lab_state().clock.now())
        public_key, alg = x5c.algorithm_for(leaf)
    except x5c.ChainProblem as exc:
        raise Refused(f"no usable x5c chain: {exc}") from None
    try:
        claims = _decode(token, public_key, [alg])
    except jwt.PyJWTError as exc:
        raise Refused(str(exc)) from None
    return _accepted(claims, f"{alg} with the key of the token's own certificate {x5c.named(leaf)}")


def _claims_even_if_expired(token: str) -> dict:
    """The claims of an access token this lab signed, every rule checked but expiry: this
    refresh flow takes the expired token (it only says whom to refresh)."""
    state = lab_state()
    try:
        return verify_access_token(token, state.keys, policy(), state.clock.now()).claims
    except TokenRejected as exc:
        if exc.rule != "expired":
            raise InvalidGrant(f"the access token is refused: {exc}") from None
    # Expiry is judged after the signature and every claim: check it all again at the moment
    # the token expired, when it was fresh.
    expired_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    try:
        return verify_access_token(token, state.keys, policy(), expired_at).claims
    except TokenRejected as exc:
        raise InvalidGrant(f"the access token is refused: {exc}") from None


@bp.post("/unbound-refresh/token")
def unbound_refresh():
    """A token endpoint with the password grant (an access token and one of the lab's refresh
    tokens) and the refresh grant (``refresh_token`` and the old ``access_token``). Mistake:
    the refresh grant checks only that the refresh token is valid, then issues the new token
    for the subject and client of the access token, not for the refresh token's owner."""
    body = json_object()
    grant = string_field(body, "grant_type", max_length=32) if "grant_type" in body else "password"
    state, config = lab_state(), current_app.config
    if grant == "password":
        user = password_login(body)
        refresh_token = issue_refresh_token(
            state.store, state.clock, user.username, lifetime=config["REFRESH_LIFETIME"]
        )
        login_still_current(user, undo=lambda: revoke_refresh_token(state.store, refresh_token))
        client_id = config["TOKEN_CLIENT_ID"]
    elif grant == "refresh_token":
        old = _claims_even_if_expired(
            string_field(body, "access_token", max_length=MAX_TOKEN_LENGTH)
        )
        user = get_user(state.store, old["sub"])  # Mistake: the access token's subject...
        if user is None:
            raise InvalidGrant("the access token's user no longer exists")
        client_id = old["client_id"]  # ... and its client
        try:  # ... while the refresh token is only checked, and rotated; its owner is ignored
            _owner, refresh_token = use_refresh_token(
                state.store, state.clock, string_field(body, "refresh_token", max_length=256)
            )
        except RefreshRejected as exc:
            raise InvalidGrant(str(exc)) from None
    else:
        raise InvalidRequest(
            f"grant_type must be 'password' or 'refresh_token', not {grant[:32]!r}"
        )
    claims = _claims_for(user, client_id=client_id, token_version=user.token_version)
    return jsonify(
        warning=WARNING,
        access_token=issue_access_token(state.keys, claims),
        token_type="Bearer",
        expires_in=config["TOKEN_LIFETIME"],
        refresh_token=refresh_token,
    )


# --- sessions -------------------------------------------------------------------------------


def _vuln_session_key(session_id: str) -> str:
    return key("vuln-session", session_id)


def _start_session(
    username: str | None, session_id: str | None = None, counter: bool = False
) -> str:
    if session_id is None and counter:
        state = _state()
        with state["lock"]:
            session_id = str(next(state["counter"]))  # Mistake: a counter, not a random ID
    elif session_id is None:
        session_id = secrets.token_urlsafe(32)
    lab_state().store.hset(_vuln_session_key(session_id), mapping={"user": username or ""})
    return session_id


@bp.get("/session/start")
def session_start():
    """An anonymous session (a cart, a language choice) before any login."""
    session_id = _start_session(None)
    response = jsonify(warning=WARNING, session=session_id)
    response.set_cookie("vsession", session_id, path="/vulnerable/", httponly=True, samesite="Lax")
    return response


def _login(keep_presented_id: bool = False, counter: bool = False):
    username = password_login().username
    presented = request.cookies.get("vsession")
    if keep_presented_id and presented and lab_state().store.exists(_vuln_session_key(presented)):
        session_id = _start_session(username, presented)  # Mistake: the old ID is promoted
    else:
        session_id = _start_session(username, counter=counter)
    response = jsonify(warning=WARNING, session=session_id)
    response.set_cookie("vsession", session_id, path="/vulnerable/", httponly=True, samesite="Lax")
    return response


@bp.post("/session/login")
def session_login():
    """Mistake: session IDs are consecutive numbers."""
    return _login(counter=True)


@bp.post("/session/login-keep-id")
def session_login_keep_id():
    """Mistake: the session ID the browser came with is kept at login (fixation)."""
    return _login(keep_presented_id=True)


@bp.get("/session/me")
def session_me():
    session_id = request.cookies.get("vsession", "")
    record = lab_state().store.hgetall(_vuln_session_key(session_id))
    if not record or not record.get("user"):
        raise AuthenticationRequired("no logged-in session")
    user = get_user(lab_state().store, record["user"])
    return jsonify(
        warning=WARNING, accepted=True, sub=record["user"], roles=list(user.roles) if user else []
    )
