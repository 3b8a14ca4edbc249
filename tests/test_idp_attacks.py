"""An attacker's tests of chapter 04's federation, over real HTTP on loopback: each one is an
attack that worked once, and the rule that now refuses it.

The attacks that already failed when they were tried (and stay covered by the other test
modules) are listed in the report of the branch that added this file, not repeated here.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from labserver import PASSWORDS, refresh_tokens
from labserver.oauth.native_app import NativeApp
from tests.federation_helpers import (
    ORDERS_SERVICE,
    bearer,
    exchange_form,
    reports_assertion,
    reports_form,
    token_request,
)

#: Every test here ends by checking that no system recorded a crash (each would have been a 500).
pytestmark = pytest.mark.usefixtures("no_crashes")


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


# ---- the BFF, a confidential client (second pass) ----------------------------------------------


def _bff_sign_in(fed):
    from tests.test_bff import start_sign_in

    return start_sign_in(fed)


def test_a_bff_sign_in_older_than_its_timeout_on_the_lab_clock_is_refused(fed):
    """The pre-login record (state, nonce, verifier) lives LOGIN_TIMEOUT seconds. The embedded
    store expires it on lab time, a real Redis on real seconds: on Redis a sign-in started an
    hour ago (lab time) was still finished. The lab clock rules every time decision; an old
    state is a stale login transaction (RFC 6749 section 10.12: bound to this user agent, for
    this request only)."""
    from tests.test_bff import sign_in_at_idp

    browser, start, _ = _bff_sign_in(fed)
    fed.clock.advance(600 + 1)
    back = sign_in_at_idp(browser, start.headers["Location"])
    r = browser.get(back, allow_redirects=False)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    assert "bff" not in browser.cookies


def test_an_id_token_for_several_audiences_needs_azp_naming_the_bff(fed):
    """OpenID Connect Core section 3.1.3.7 items 3-5: with several audiences, azp must be
    present and be the client's id; an ID token whose azp names another client is not the
    BFF's, even when its aud lists the BFF."""
    import jwt

    from labserver.oauth.bff_client import ConfidentialClient, LoginRefused, PendingLogin
    from tests.test_bff import sign_in_at_idp

    client = ConfidentialClient(fed.idp.url, clock=fed.clock)
    browser, start, params = _bff_sign_in(fed)
    back = sign_in_at_idp(browser, start.headers["Location"])
    code = parse_qs(urlsplit(back).query)["code"][0]
    saved = fed.store.hgetall(f"lab:bff-login:{browser.cookies['bff-login']}")
    saved.pop("started")
    tokens = client.redeem(code, PendingLogin(**saved), fed.url + "/bff/callback")
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    key = fed.idp.keys.current("RS256")

    def signed(**change):
        body = {k: v for k, v in {**claims, **change}.items() if v is not None}
        token = jwt.encode(body, key.signing_key, algorithm="RS256", headers={"kid": key.kid})
        return {**tokens, "id_token": token}

    assert client.id_token_claims(signed(), params["nonce"])["sub"] == "alice"
    for change in (
        {"aud": ["bff", "mobile-app"], "azp": None},
        {"aud": ["bff", "mobile-app"], "azp": "mobile-app"},
        {"azp": "mobile-app"},
    ):
        with pytest.raises(LoginRefused) as caught:
            client.id_token_claims(signed(**change), params["nonce"])
        assert "azp" in str(caught.value), change


def test_a_renewal_held_too_long_by_another_request_is_a_503(fed, monkeypatch):
    """Two requests of one session near expiry: the second waits for the first's renewal (a
    lock, so one refresh token is never presented twice). If the provider is slow and the
    wait runs out, the answer is a 503 (try again), not a 500."""
    from labserver import bff
    from labserver.session_records import session_key
    from tests.test_bff import CSRF, idp_login

    browser, _ = idp_login(fed)
    session_id = browser.cookies["bff"]
    fed.clock.advance(300 - 30 + 1)  # inside the refresh margin: this request must renew
    monkeypatch.setattr(bff._session_lock, "WAIT", 0.05)
    fed.store.set(f"lab:bff-lock:{session_id}", "another-request", px=60_000)
    try:
        r = browser.get("/bff/api/orders", headers=CSRF)
    finally:
        fed.store.delete(f"lab:bff-lock:{session_id}")
    assert (r.status_code, r.json()["error"]) == (503, "service_unavailable"), r.text
    assert fed.store.hget(session_key(session_id), "refresh_token"), "the session survives"
    assert browser.get("/bff/api/orders", headers=CSRF).status_code == 200


# ---- token exchange (second pass) --------------------------------------------------------------


@pytest.mark.parametrize(
    "resource", ["http://127.0.0.1:1/unknown", "orders"], ids=["unknown", "another-api"]
)
def test_audience_and_resource_that_disagree_are_invalid_target(fed, app, resource):
    """RFC 8693 section 2.2.2: invalid_target when the server cannot issue a token for a
    target the audience or resource names. Both given, the resource was ignored, and a token
    came back for the audience alone."""
    tokens = app.login("alice", PASSWORDS["alice"], scope="openid orders:read orders:write")
    resource = fed.orders.url if resource == "orders" else resource
    form = exchange_form(tokens["access_token"], resource=resource)
    answer = token_request(fed, form, ORDERS_SERVICE)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_target"), answer.text
    assert "access_token" not in answer.json()
    agreeing = exchange_form(tokens["access_token"], resource=fed.billing.url)
    assert token_request(fed, agreeing, ORDERS_SERVICE).status_code == 200


# ---- totality: outages in the middle of a flow -------------------------------------------------


def test_paying_with_the_store_down_is_a_503_not_a_502(fed, app):
    """Orders verifies the user's token alone, then asks the provider for a billing token; the
    store is down, the provider answers 503. A missing store fails closed with 503 all the way
    back (the provider did not refuse the exchange; it could not decide it)."""
    tokens = app.login("bob", PASSWORDS["bob"], scope="openid orders:read orders:write")
    with fed.store_outage():
        r = fed.orders.http.post("/orders/B-2001/pay", headers=bearer(tokens["access_token"]))
    assert r.status_code == 503, r.text
    assert "store" in r.json()["error_description"]
