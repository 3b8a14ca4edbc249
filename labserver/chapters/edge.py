"""Chapter 10: an API instance that verifies tokens "at the edge", with public keys only.

Mounted when ``EDGE_JWKS_URL`` is set: the instance then trusts the issuer whose JWKS is at
that URL. It never reads its store to answer ``/edge/me``: who the caller is comes from the
verified token, and the keys from the issuer's JWKS (fetched on first use, again on an unknown
``kid``, at most once per ``EDGE_JWKS_MIN_INTERVAL`` seconds of lab time, and when its copy is
older than ``EDGE_JWKS_MAX_AGE``). The rate limit is per process, on the lab clock.

* ``GET /edge/me``    the caller, by bearer token, verified with every rule of chapter 2
* ``GET /edge/keys``  which kids this instance knows, and how often it fetched the JWKS
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..access_tokens import TokenRejected, verify_access_token
from ..app import lab_state
from ..config import Option
from ..http_errors import AuthenticationRequired, InvalidToken, ServiceUnavailable, bearer_challenge
from ..inputs import authorization
from ..remote_keys import RemoteKeySet
from .tokens import policy

bp = Blueprint("edge", __name__)

#: create_app registers this blueprint only when this config key is set.
REGISTER_IF = "EDGE_JWKS_URL"

OPTIONS = (
    Option(
        "EDGE_JWKS_URL",
        "",
        "Chapter 10: verify tokens at /edge/me with the public keys published at this "
        "JWKS URL (an issuer's), never touching the store. Empty: no /edge endpoints.",
    ),
    Option(
        "EDGE_JWKS_MIN_INTERVAL",
        30,
        "Seconds (lab time) between two JWKS fetches triggered by unknown kids: the rate limit.",
    ),
    Option(
        "EDGE_JWKS_MAX_AGE",
        300,
        "Seconds (lab time) after which the copy of the JWKS is fetched again on the next request.",
    ),
)


def init_app(app) -> None:
    app.extensions["lab.edge"] = RemoteKeySet(
        app.config["EDGE_JWKS_URL"],
        clock=app.extensions["lab"].clock,
        min_interval=app.config["EDGE_JWKS_MIN_INTERVAL"],
        max_age=app.config["EDGE_JWKS_MAX_AGE"],
    )


def remote_keys() -> RemoteKeySet:
    """This instance's copy of the issuer's public keys."""
    return current_app.extensions["lab.edge"]


@bp.get("/edge/me")
def edge_me():
    """The caller by bearer token, verified with the issuer's public keys only."""
    auth = authorization(request)
    if auth is None or auth.type != "bearer" or not auth.token:
        raise AuthenticationRequired(
            "send Authorization: Bearer <access token>",
            headers={"WWW-Authenticate": bearer_challenge()},
        )
    keys = remote_keys()
    try:
        verified = verify_access_token(auth.token, keys, policy(), lab_state().clock.now())
    except TokenRejected as exc:
        if exc.rule == "unknown_key" and not keys.reachable:
            raise ServiceUnavailable(
                f"the issuer's key set cannot be fetched ({keys.last_error})"
            ) from None
        raise InvalidToken(str(exc)) from None
    claims = verified.claims
    return jsonify(
        sub=claims["sub"],
        roles=claims.get("roles", []),
        kid=verified.key.kid,
        instance=current_app.config["SERVICE_NAME"],
    )


@bp.get("/edge/keys")
def edge_keys():
    """Which kids this instance knows, and its JWKS fetch counts."""
    keys = remote_keys()
    return jsonify(
        jwks_url=keys.jwks_url,
        kids=keys.kids,
        fetches=keys.fetches,
        skipped_by_rate_limit=keys.skipped,
        last_error=keys.last_error,
        instance=current_app.config["SERVICE_NAME"],
    )
