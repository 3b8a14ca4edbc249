"""Chapter 2: JWT access tokens. Signed claims the client carries; no store lookup to check them.

Endpoints:

* ``POST /oauth/token``            ``{"username", "password"[, "alg", "lifetime"]}`` →
  ``{"access_token", "token_type": "Bearer", "expires_in"[, "refresh_token"]}`` (an RFC
  9068-shaped JWT signed with ``alg``; a refresh token too when ``REFRESH_TOKENS`` is on), or
  ``{"grant_type": "refresh_token", "refresh_token"}`` → the same, with the refresh token rotated
* ``GET  /api/me``                 needs ``Authorization: Bearer <token>``; answers with the claims
  it verified and trusted, and reads nothing from the store
* ``GET  /.well-known/jwks.json``  the public keys, each with its ``kid`` (RFC 7517)
* ``POST /admin/keys/rotate``      ``{"alg"}``: a new current signing key (admin)
* ``DELETE /admin/keys/<kid>``     stop publishing a key: tokens it signed stop verifying (admin)

Every failed token is a 401 with ``WWW-Authenticate: Bearer error="invalid_token",
error_description="<rule>: <what was wrong>"`` (RFC 6750), the rule named as in
:mod:`labserver.access_tokens`.
"""

from __future__ import annotations

from flask import Blueprint, Request, current_app, jsonify

from ..access_tokens import (
    TokenPolicy,
    TokenRejected,
    access_token_claims,
    issue_access_token,
    verify_access_token,
)
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
from ..http_errors import (
    InvalidGrant,
    InvalidRequest,
    InvalidToken,
    NotFound,
    bearer_challenge,
)
from ..inputs import authorization, json_object, string_field
from ..keys import ALGORITHMS
from ..refresh_tokens import (
    RefreshRejected,
    issue_refresh_token,
    revoke_refresh_token,
    use_refresh_token,
)
from ..users import User, get_user

bp = Blueprint("tokens", __name__)

OPTIONS = (
    Option(
        "TOKEN_ISSUER",
        "https://issuer.jwt-lab.test",
        "The iss of every token the lab issues, and the only iss its API accepts.",
    ),
    Option(
        "TOKEN_AUDIENCE",
        "https://api.jwt-lab.test",
        "The aud of every token, and the only aud the API accepts (exactly: no lists).",
    ),
    Option("TOKEN_LIFETIME", 5 * 60, "Seconds from iat to exp of an access token."),
    Option(
        "TOKEN_LEEWAY",
        30,
        "Seconds of clock difference tolerated between issuer and API on exp, nbf and iat.",
    ),
    Option("TOKEN_ALG", "ES256", f"Default signing algorithm: one of {', '.join(ALGORITHMS)}."),
    Option(
        "TOKEN_CLIENT_ID", "jwt-lab-notebook", "The client_id claim (RFC 9068) of issued tokens."
    ),
    Option(
        "TOKEN_MAX_LIFETIME",
        24 * 3600,
        "Longest access-token lifetime a token request may ask for with 'lifetime' (a lab "
        "convenience for experiments; real servers set lifetimes per client).",
    ),
    Option(
        "REFRESH_TOKENS",
        False,
        "The password grant also issues a refresh token (rotated on every use; chapter 3). "
        "The refresh grant always works for a refresh token the lab issued.",
    ),
    Option("REFRESH_LIFETIME", 24 * 3600, "Seconds a refresh-token family lives after login."),
)


def init_app(app) -> None:
    """A bearer token is a credential every endpoint of the lab accepts."""
    register_authenticator(app, "bearer", bearer_authenticator, bearer_challenge())


def policy() -> TokenPolicy:
    """What the API requires of a token, from the app's config."""
    config = current_app.config
    return TokenPolicy(
        issuer=config["TOKEN_ISSUER"],
        audience=config["TOKEN_AUDIENCE"],
        leeway=float(config["TOKEN_LEEWAY"]),
    )


def bearer_authenticator(req: Request) -> Principal | None:
    """The caller named by a verified bearer token; None when no bearer token was sent.

    Nothing is read from the store: who the caller is and which roles they have come from
    the token's claims, trusted because the signature and every rule checked out. (Endpoints
    that authorize from them, ``require_role``, re-read the user in the store.)
    """
    header = req.headers.get("Authorization", "")
    if header[:7].lower() != "bearer " and header.strip().lower() != "bearer":
        return None
    auth = authorization(req)
    if auth is None or not auth.token:
        raise InvalidRequest(
            "the Authorization header says Bearer but carries no token",
            headers={"WWW-Authenticate": bearer_challenge("invalid_request")},
        )
    state = lab_state()
    try:
        verified = verify_access_token(auth.token, state.keys, policy(), state.clock.now())
    except TokenRejected as exc:
        raise InvalidToken(str(exc)) from None
    claims = verified.claims
    roles = claims.get("roles", [])
    user = User(
        username=claims["sub"],
        roles=tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else (),
        token_version=claims.get("token_version")
        if isinstance(claims.get("token_version"), int)
        else 0,
        display_name=claims["sub"],
    )
    return Principal(
        user=user,
        via="bearer",
        details={"kid": verified.key.kid, "alg": verified.key.alg},
        claims=claims,
    )


@bp.post("/oauth/token")
def token():
    """The token endpoint: the password grant, or (chapter 3) the refresh-token grant."""
    body = json_object()
    grant = string_field(body, "grant_type", max_length=32) if "grant_type" in body else "password"
    config, state = current_app.config, lab_state()
    alg = string_field(body, "alg", max_length=10) if "alg" in body else config["TOKEN_ALG"]
    if alg not in ALGORITHMS:
        raise InvalidRequest(f"alg must be one of {', '.join(ALGORITHMS)}, not {alg!r}")
    lifetime = body.get("lifetime", config["TOKEN_LIFETIME"])
    if (
        not isinstance(lifetime, int)
        or isinstance(lifetime, bool)
        or not 0 < lifetime <= config["TOKEN_MAX_LIFETIME"]
    ):
        raise InvalidRequest(
            f"lifetime must be a whole number of seconds from 1 to {config['TOKEN_MAX_LIFETIME']}"
        )

    refresh_token = None
    if grant == "password":
        user = password_login(body)
        if config["REFRESH_TOKENS"]:
            refresh_token = issue_refresh_token(
                state.store, state.clock, user.username, lifetime=config["REFRESH_LIFETIME"]
            )
            login_still_current(
                user,
                undo=lambda: revoke_refresh_token(
                    state.store, refresh_token, reason="the account changed"
                ),
            )
    elif grant == "refresh_token":
        try:
            username, refresh_token = use_refresh_token(
                state.store, state.clock, string_field(body, "refresh_token", max_length=256)
            )
        except RefreshRejected as exc:
            raise InvalidGrant(str(exc)) from None
        user = get_user(state.store, username)
        if user is None:
            raise InvalidGrant("the refresh token's user no longer exists")
    else:
        raise InvalidRequest(
            f"grant_type must be 'password' or 'refresh_token', not {grant[:32]!r}"
        )

    claims = access_token_claims(
        user.username,
        issuer=config["TOKEN_ISSUER"],
        audience=config["TOKEN_AUDIENCE"],
        now=state.clock.now(),
        lifetime=lifetime,
        client_id=config["TOKEN_CLIENT_ID"],
        extra={"roles": list(user.roles), "token_version": user.token_version},
    )
    answer = {
        "access_token": issue_access_token(state.keys, claims, alg),
        "token_type": "Bearer",
        "expires_in": lifetime,
    }
    if refresh_token:
        answer["refresh_token"] = refresh_token
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 section 5.1
    return response


@bp.get("/api/me")
def api_me():
    """The caller by their bearer token, and every claim the API verified and now trusts."""
    principal = require_credential("bearer")
    return jsonify(
        sub=principal.user.username,
        roles=list(principal.user.roles),
        verified_with=principal.details,
        trusted_claims=principal.claims,
    )


@bp.get("/.well-known/jwks.json")
def jwks():
    """The public keys that verify the lab's tokens (never the HMAC secret)."""
    response = jsonify(lab_state().keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.post("/admin/keys/rotate")
@require_role("admin")
def rotate_key(principal: Principal):
    """Make a new current key for ``alg``; the old one stays published until retired."""
    alg = string_field(json_object(), "alg", max_length=10)
    if alg not in ALGORITHMS:
        raise InvalidRequest(f"alg must be one of {', '.join(ALGORITHMS)}, not {alg!r}")
    key = lab_state().keys.rotate(alg)
    return jsonify(kid=key.kid, alg=key.alg, published=lab_state().keys.kids)


@bp.delete("/admin/keys/<kid>")
@require_role("admin")
def retire_key(kid: str, principal: Principal):
    """Stop publishing ``kid``: every token it signed is refused from now on."""
    try:
        retired = lab_state().keys.retire(kid)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    if not retired:
        raise NotFound(f"no published key {kid!r}")
    return jsonify(retired=kid, published=lab_state().keys.kids)
