"""An attacker's tests of chapter 04's federation, over real HTTP on loopback: each one is an
attack that worked once, and the rule that now refuses it.

The attacks that already failed when they were tried (and stay covered by the other test
modules) are listed in the report of the branch that added this file, not repeated here.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from labserver import PASSWORDS, refresh_tokens
from labserver.oauth.native_app import NativeApp
from tests.conftest import REDIS_URL
from tests.federation_helpers import (
    ORDERS_SERVICE,
    assert_no_crashes,
    bearer,
    exchange_form,
    reports_assertion,
    reports_form,
    run_federation,
    token_request,
)


@pytest.fixture(scope="module")
def fed():
    yield from run_federation(REDIS_URL)


@pytest.fixture(autouse=True)
def no_crashes(fed):
    yield
    assert_no_crashes(fed)


@pytest.fixture
def app(fed):
    app = NativeApp(fed.idp)
    yield app
    app.listener.stop()


def introspect(lab, token: str, auth=ORDERS_SERVICE) -> dict:
    answer = lab.idp.http.post("/oauth2/introspect", data={"token": token}, auth=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


# ---- refresh tokens belong to the system that issued them --------------------------------------


def test_a_provider_refresh_token_is_refused_by_the_labs_own_token_endpoint(fed, app):
    """The provider and the lab share a store and chapter 3's refresh-token module. A DPoP-bound
    refresh token of the mobile app, stolen, must not become a lab access token at the lab's
    chapter 2 endpoint (no key, no client authentication, another issuer)."""
    key = ec.generate_private_key(ec.SECP256R1())
    tokens = app.login("alice", PASSWORDS["alice"], dpop_key=key)
    assert tokens["status"] == 200 and tokens["token_type"] == "DPoP"
    stolen = fed.http.post(
        "/oauth/token",
        json={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert (stolen.status_code, stolen.json()["error"]) == (400, "invalid_grant")
    assert "access_token" not in stolen.json()
    # Nor does the attempt use the token up: the app, with its key, still refreshes.
    assert app.refresh(tokens["refresh_token"], dpop_key=key)["status"] == 200


def test_the_labs_introspection_does_not_vouch_for_a_provider_refresh_token(fed, app):
    tokens = app.login("alice", PASSWORDS["alice"])
    admin = fed.http.post(
        "/oauth/token", json={"username": "admin", "password": PASSWORDS["admin"]}
    ).json()["access_token"]
    answer = fed.http.post(
        "/oauth/introspect", json={"token": tokens["refresh_token"]}, headers=bearer(admin)
    )
    assert answer.status_code == 200 and answer.json() == {"active": False}


def test_a_labs_own_refresh_token_is_not_active_at_the_provider(fed):
    """RFC 7662 section 2.2: active means issued by this server and still valid."""
    own = refresh_tokens.issue_refresh_token(fed.store, fed.clock, "bob")
    assert introspect(fed, own) == {"active": False}


# ---- client authentication ---------------------------------------------------------------------


def test_a_public_client_may_not_introspect(fed, app):
    """RFC 7662 section 2.1: the endpoint requires authorization (against token scanning); a
    public client's client_id proves nothing."""
    tokens = app.login("bob", PASSWORDS["bob"])
    answer = fed.idp.http.post(
        "/oauth2/introspect", data={"token": tokens["access_token"], "client_id": "mobile-app"}
    )
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    assert "active" not in answer.json()


def test_two_authentication_methods_in_one_request_are_invalid_request(fed):
    """RFC 6749 section 2.3: a client MUST NOT use more than one authentication method in a
    request (section 5.2 lists it under invalid_request)."""
    answer = token_request(
        fed,
        reports_form(reports_assertion(fed), grant_type="client_credentials", scope="billing:read"),
        auth=ORDERS_SERVICE,
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    "basic, form_client",
    [
        (("bff", "wrong-secret"), "mobile-app"),  # failed Basic, then "none" for another client
        (("mobile-app", "a-secret"), "mobile-app"),  # a public client presenting a secret
    ],
    ids=["failed-basic-falls-back", "public-with-secret"],
)
def test_credentials_that_do_not_authenticate_are_not_ignored(fed, app, basic, form_client):
    tokens = app.login("alice", PASSWORDS["alice"])
    answer = token_request(
        fed,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": form_client,
        },
        headers=_basic(*basic),
    )
    assert answer.status_code in (400, 401), answer.text
    assert answer.json()["error"] in ("invalid_client", "invalid_request")
    # The refused request did not consume the refresh token.
    assert app.refresh(tokens["refresh_token"])["status"] == 200


def test_a_client_assertion_not_yet_valid_is_refused(fed):
    """RFC 7523 section 3 item 6: a JWT with nbf in the future MUST NOT be accepted yet."""
    now = int(fed.clock.now())
    assertion = reports_assertion(fed, nbf=now + 200, exp=now + 250)
    answer = token_request(
        fed, reports_form(assertion, grant_type="client_credentials", scope="orders:read")
    )
    assert answer.json()["error"] == "invalid_client" and "nbf" in answer.text


# ---- redirect URIs -----------------------------------------------------------------------------


def test_the_bffs_redirect_uri_is_matched_exactly_port_included(fed):
    """The loopback port may vary only for a native app that registered none (RFC 8252
    section 7.3); the BFF registered its full URI, which is compared exactly (RFC 9700
    section 2.1): another local process on another port must not receive its codes."""
    registered = fed.idp.app.config["IDP_BFF_REDIRECT_URI"]
    port = registered.split(":")[2].split("/")[0]
    other = registered.replace(f":{port}/", f":{int(port) % 65535 + 1}/")
    query = {
        "response_type": "code",
        "client_id": "bff",
        "redirect_uri": other,
        "scope": "openid",
        "state": "s",
        "nonce": "n",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    answer = fed.idp.http.get("/oauth2/authorize?" + urlencode(query), allow_redirects=False)
    assert answer.status_code == 400 and "Location" not in answer.headers
    query["redirect_uri"] = registered
    assert fed.idp.http.get("/oauth2/authorize?" + urlencode(query)).status_code == 200


# ---- token exchange ----------------------------------------------------------------------------


def test_a_client_credentials_token_is_not_exchanged_as_if_for_a_user(fed):
    """RFC 8693 section 1.1: the exchanged token acts on behalf of the subject token's
    subject. A service's own token (RFC 9068 section 2.2: sub = client_id) names no user, and
    must not come back as billing's token for a "user" called reports-job."""
    own = token_request(
        fed,
        reports_form(reports_assertion(fed), grant_type="client_credentials", scope="orders:read"),
    ).json()["access_token"]
    answer = token_request(fed, exchange_form(own, scope="billing:read"), ORDERS_SERVICE)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    assert "access_token" not in answer.json()
