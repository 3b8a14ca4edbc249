"""Helpers for the tests of chapter 04's identity provider and the APIs that trust it.

Everything goes over real HTTP: ``lab.idp``, ``lab.orders`` and ``lab.billing`` are separate
servers on their own loopback ports (``start_lab(identity_provider=True)``), sharing the lab's
store and a frozen lab clock, which the tests advance to expire codes and tokens. One
federation serves a test module (each test uses tokens of its own, and checks after itself
that no system crashed); a test that stops the provider starts its own.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

import jwt

from labserver import start_lab
from labserver.clock import LabClock
from labserver.oauth.clients import CLIENT_SECRETS
from labserver.store import connect, delete_lab_keys

ORDERS_SERVICE = ("orders-service", CLIENT_SECRETS["orders-service"])
BFF = ("bff", CLIENT_SECRETS["bff"])
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def run_federation(redis_url: str | None):
    """A lab with its identity provider and two APIs, stopped after the test; then every
    system's ``crashes`` must be empty (each would have been a 500)."""
    if redis_url:
        delete_lab_keys(connect(redis_url))
    lab = start_lab(
        redis_url=redis_url or "", clock=LabClock.frozen(), identity_provider=True, replace=False
    )
    try:
        yield lab
    finally:
        lab.stop()
    assert_no_crashes(lab)
    if redis_url:
        delete_lab_keys(lab.store)


def assert_no_crashes(lab) -> None:
    """No system of the federation answered with a 500."""
    for system in (lab, lab.idp, lab.orders, lab.billing):
        assert system.crashes == [], f"{system.url} answered with a 500: {system.crashes[:3]}"


def claims_of(token: str) -> dict:
    """A JWT's payload, unverified (to look at; tests verify with :func:`verify` where it
    matters)."""
    return jwt.decode(token, options={"verify_signature": False})


def verify(lab, token: str, audience: str) -> dict:
    """``token`` verified by PyJWT with the provider's published JWKS alone: signature, ``iss``
    and ``aud``. Times are checked against the lab clock by the caller (PyJWT reads the wall
    clock, which a test may have left behind)."""
    jwks = jwt.PyJWKSet.from_dict(lab.idp.http.get("/.well-known/jwks.json").json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    return jwt.decode(
        token,
        key.key,
        algorithms=[key.algorithm_name],
        audience=audience,
        issuer=lab.idp.url,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )


def token_request(lab, form: dict, auth=None, headers=None):
    """POST ``form`` to the provider's token endpoint; the raw ``requests`` response."""
    return lab.idp.http.post("/oauth2/token", data=form, auth=auth, headers=headers or {})


def service_token(lab, scope: str, auth=ORDERS_SERVICE) -> str:
    """A client-credentials access token (``orders-service`` by default)."""
    answer = token_request(lab, {"grant_type": "client_credentials", "scope": scope}, auth)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def reports_assertion(lab, **overrides) -> str:
    """A private_key_jwt client assertion of ``reports-job`` (RFC 7523 section 2.2), signed
    with its key (or ``key``); ``overrides`` change or (with None) remove claims."""
    key = overrides.pop("key", None) or lab.federation.reports_key
    now = int(lab.clock.now())
    claims = {
        "iss": "reports-job",
        "sub": "reports-job",
        "aud": lab.idp.url,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "reports-job-1"})


def reports_form(assertion: str, **form) -> dict:
    return {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        **form,
    }


def exchange_form(subject: str, **overrides) -> dict:
    """An RFC 8693 request by orders-service for a billing token (``None`` drops a field)."""
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "audience": "billing",
        "scope": "billing:charge",
        **overrides,
    }
    return {k: v for k, v in form.items() if v is not None}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def at_hash(access_token: str) -> str:
    """OIDC Core section 3.1.3.6: the left half of SHA-256 of the access token, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def authorize_url(app, **params) -> str:
    """An authorization request URL of the native app, with ``params`` changed (``None``
    drops one)."""
    query = {
        "response_type": "code",
        "client_id": "mobile-app",
        "redirect_uri": app.listener.redirect_uri,
        "scope": "openid orders:read",
        "state": "s-1",
        "nonce": "n-1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        **params,
    }
    query = {k: v for k, v in query.items() if v is not None}
    return app.metadata["authorization_endpoint"] + "?" + urlencode(query)
