"""The orders and billing APIs, which trust chapter 04's identity provider by its JWKS alone,
over real HTTP: audience and scope, token exchange (RFC 8693) from orders to billing, DPoP
(RFC 9449) sender-constrained tokens, and the provider going down.
"""

from __future__ import annotations

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from labserver import PASSWORDS
from labserver.oauth import dpop
from labserver.oauth.native_app import NativeApp
from tests.federation_helpers import (
    ORDERS_SERVICE,
    bearer,
    claims_of,
    exchange_form,
    run_federation,
    service_token,
    token_request,
    verify,
)

#: Every test here ends by checking that no system recorded a crash (each would have been a 500).
pytestmark = pytest.mark.usefixtures("no_crashes")


@pytest.fixture
def app(fed):
    """The native app, listening on a loopback port of its own."""
    app = NativeApp(fed.idp)
    yield app
    app.listener.stop()


@pytest.fixture
def alice(app):
    """Alice's tokens from the native app (code + PKCE), for orders."""
    tokens = app.login("alice", PASSWORDS["alice"])
    assert tokens["status"] == 200
    return tokens


# ---- audience and scope ------------------------------------------------------------------------


def test_a_token_for_orders_is_refused_by_billing_and_the_other_way(fed, alice):
    orders_token = alice["access_token"]
    assert fed.orders.http.get("/orders", headers=bearer(orders_token)).status_code == 200
    refused = fed.billing.http.get("/invoices", headers=bearer(orders_token))
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")
    assert "aud" in refused.json()["error_description"]
    billing_token = service_token(fed, "billing:read")
    assert fed.billing.http.get("/invoices", headers=bearer(billing_token)).status_code == 200
    refused = fed.orders.http.get("/orders", headers=bearer(billing_token))
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")


def test_a_missing_scope_is_403_insufficient_scope_naming_it(fed, app):
    tokens = app.login("alice", PASSWORDS["alice"], scope="openid orders:read")
    headers = bearer(tokens["access_token"])
    assert fed.orders.http.get("/orders", headers=headers).status_code == 200
    answer = fed.orders.http.post("/orders/A-1001/pay", headers=headers)
    assert (answer.status_code, answer.json()["error"]) == (403, "insufficient_scope")
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer") and 'error="insufficient_scope"' in challenge
    assert 'scope="orders:write"' in challenge
    charge = fed.billing.http.post(
        "/charges",
        json={"order": "A-1", "amount_cents": 1},
        headers=bearer(service_token(fed, "billing:read")),
    )
    assert (charge.status_code, charge.json()["error"]) == (403, "insufficient_scope")
    assert 'scope="billing:charge"' in charge.headers["WWW-Authenticate"]


@pytest.mark.parametrize("api", ["orders", "billing"])
@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer x.y.z", "Basic YTpi", "DPoP x.y.z"]
)
def test_no_or_a_bad_token_is_401_with_a_challenge(fed, api, authorization):
    system = getattr(fed, api)
    path = "/orders" if api == "orders" else "/invoices"
    headers = {"Authorization": authorization} if authorization else {}
    answer = system.http.get(path, headers=headers)
    assert answer.status_code == 401 and answer.json()["error"] in (
        "invalid_token",
        "authentication_required",
        "invalid_request",
    )
    assert "Bearer" in answer.headers["WWW-Authenticate"]


def test_a_token_signed_by_another_issuer_is_refused(fed, alice):
    """The lab's own tokens (chapter 2's issuer) are not the provider's."""
    own = fed.http.post(
        "/oauth/token", json={"username": "alice", "password": PASSWORDS["alice"]}
    ).json()["access_token"]
    answer = fed.orders.http.get("/orders", headers=bearer(own))
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_token")


def test_an_expired_access_token_is_refused(fed, alice):
    fed.clock.advance(300 + 31)
    answer = fed.orders.http.get("/orders", headers=bearer(alice["access_token"]))
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_token")


# ---- token exchange (RFC 8693) -----------------------------------------------------------------


def test_orders_pays_through_billing_with_an_exchanged_token(fed, alice):
    answer = fed.orders.http.post("/orders/A-1001/pay", headers=bearer(alice["access_token"]))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["billing"]["charged"] == "alice"
    assert body["billing"]["acting_party"] == "orders-service"
    assert body["token_sent_to_billing"]["scope"] == "billing:charge"
    orders = fed.orders.http.get("/orders", headers=bearer(alice["access_token"])).json()
    assert next(o for o in orders["orders"] if o["id"] == "A-1001")["paid"] is True
    missing = fed.orders.http.post("/orders/B-2001/pay", headers=bearer(alice["access_token"]))
    assert missing.status_code == 404  # bob's order, not alice's


def test_token_exchange_issues_a_narrow_token_for_billing_naming_the_actor(fed, alice):
    subject = alice["access_token"]
    fed.clock.advance(200)  # the exchanged token must not outlive the user's
    answer = token_request(fed, exchange_form(subject), auth=ORDERS_SERVICE)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert body["token_type"] == "Bearer" and "refresh_token" not in body
    claims = verify(fed, body["access_token"], "billing")
    assert claims["aud"] == "billing" and claims["sub"] == "alice"
    assert claims["scope"] == "billing:charge"
    assert claims["act"] == {"sub": "orders-service"}
    assert claims["client_id"] == "orders-service"
    assert claims["exp"] <= claims_of(subject)["exp"]
    assert body["expires_in"] <= 100
    charge = fed.billing.http.post(
        "/charges",
        json={"order": "A-1002", "amount_cents": 4500},
        headers=bearer(body["access_token"]),
    )
    assert charge.status_code == 200 and charge.json()["acting_party"] == "orders-service"
    # What forwarding the user's own token would have done: billing refuses it (aud).
    forwarded = fed.billing.http.post(
        "/charges", json={"order": "A-1002", "amount_cents": 4500}, headers=bearer(subject)
    )
    assert (forwarded.status_code, forwarded.json()["error"]) == (401, "invalid_token")


def test_an_exchanged_scope_needs_its_prerequisite_in_the_users_token(fed, app):
    """The exchanged token may do less than the user's, never more: billing:charge for a user
    whose token only reads orders is invalid_scope, even for a client that may have it."""
    reader = app.login("alice", PASSWORDS["alice"], scope="orders:read")
    answer = token_request(fed, exchange_form(reader["access_token"]), auth=ORDERS_SERVICE)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope")
    assert "needs orders:write" in answer.json()["error_description"]
    read = exchange_form(reader["access_token"], scope="billing:read")
    assert token_request(fed, read, auth=ORDERS_SERVICE).status_code == 200


def test_token_exchange_by_resource_and_as_a_jwt(fed, alice):
    form = exchange_form(
        alice["access_token"],
        audience=None,
        resource=fed.billing.url,
        requested_token_type="urn:ietf:params:oauth:token-type:jwt",
        scope=None,
    )
    answer = token_request(fed, form, auth=ORDERS_SERVICE)
    assert answer.status_code == 200, answer.text
    assert answer.json()["issued_token_type"] == "urn:ietf:params:oauth:token-type:jwt"
    claims = claims_of(answer.json()["access_token"])
    assert claims["aud"] == "billing"
    assert set(claims["scope"].split()) == {"billing:read", "billing:charge"}


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"audience": "orders"}, 400, "invalid_target"),
        ({"audience": "elsewhere"}, 400, "invalid_target"),
        ({"audience": None, "resource": "http://127.0.0.1:1"}, 400, "invalid_target"),
        ({"audience": None}, 400, "invalid_request"),
        ({"scope": "billing:charge orders:read"}, 400, "invalid_scope"),
        ({"scope": "billing:refund"}, 400, "invalid_scope"),
        ({"subject_token_type": None}, 400, "invalid_request"),
        ({"subject_token": None}, 400, "invalid_request"),
        (
            {"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"},
            400,
            "invalid_request",
        ),
        (
            {"subject_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
            400,
            "invalid_request",
        ),
        (
            {"requested_token_type": "urn:ietf:params:oauth:token-type:saml2"},
            400,
            "invalid_request",
        ),
        ({"actor_token": "x"}, 400, "invalid_request"),
        ({"subject_token": "not-a-token"}, 400, "invalid_request"),
    ],
)
def test_token_exchange_errors(fed, alice, change, status, error):
    form = exchange_form(alice["access_token"], **change)
    answer = token_request(fed, form, auth=ORDERS_SERVICE)
    assert (answer.status_code, answer.json()["error"]) == (status, error), answer.text


def test_only_a_token_meant_for_the_exchanging_clients_api_is_exchanged(fed, alice):
    """orders-service may exchange tokens sent to orders; a token for billing (or the ID
    token, whose audience is the app) was not sent to it."""
    for subject in (service_token(fed, "billing:read"), alice["id_token"]):
        answer = token_request(fed, exchange_form(subject), auth=ORDERS_SERVICE)
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
        assert "subject_token" in answer.json()["error_description"]


def test_an_expired_or_revoked_subject_token_is_not_exchanged(fed, app, alice):
    revoked = app.login("bob", PASSWORDS["bob"])
    fed.idp.http.post(
        "/oauth2/revoke",
        data={"token": revoked["refresh_token"], "client_id": "mobile-app"},
    )
    answer = token_request(fed, exchange_form(revoked["access_token"]), auth=ORDERS_SERVICE)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    assert "revoked" in answer.json()["error_description"]
    fed.clock.advance(300 + 31)
    answer = token_request(fed, exchange_form(alice["access_token"]), auth=ORDERS_SERVICE)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


def test_clients_that_may_not_exchange_are_refused(fed, alice):
    public = token_request(fed, {**exchange_form(alice["access_token"]), "client_id": "mobile-app"})
    assert (public.status_code, public.json()["error"]) == (401, "invalid_client")
    bff = token_request(
        fed, exchange_form(alice["access_token"]), auth=("bff", "bff-confidential-secret")
    )
    assert (bff.status_code, bff.json()["error"]) == (400, "unauthorized_client")


# ---- DPoP (RFC 9449) ---------------------------------------------------------------------------


def test_a_dpop_bound_token_needs_the_key_and_a_fresh_proof(fed, app):
    key = ec.generate_private_key(ec.SECP256R1())
    tokens = app.login("bob", PASSWORDS["bob"], dpop_key=key)
    assert tokens["status"] == 200 and tokens["token_type"] == "DPoP"
    token = tokens["access_token"]
    jkt = dpop.jwk_thumbprint(ECAlgorithm.to_jwk(key.public_key(), as_dict=True))
    assert verify(fed, token, "orders")["cnf"] == {"jkt": jkt}
    url = fed.orders.url + "/orders"

    def call(proof_key, **kw):
        proof = dpop.make_proof(proof_key, "GET", url, iat=fed.clock.now(), access_token=token)
        headers = {"Authorization": f"DPoP {token}", "DPoP": proof, **kw}
        return fed.orders.http.get("/orders", headers=headers), proof

    ok, proof = call(key)
    assert ok.status_code == 200 and ok.json()["sub"] == "bob"
    # The same proof again: a replay, refused even with the right token.
    again = fed.orders.http.get(
        "/orders", headers={"Authorization": f"DPoP {token}", "DPoP": proof}
    )
    assert (again.status_code, again.json()["error"]) == (401, "invalid_token")
    assert "replayed" in again.json()["error_description"]
    # Stolen: the thief has the token, not the key.
    as_bearer = fed.orders.http.get("/orders", headers=bearer(token))
    assert (as_bearer.status_code, as_bearer.json()["error"]) == (401, "invalid_token")
    no_proof = fed.orders.http.get("/orders", headers={"Authorization": f"DPoP {token}"})
    assert no_proof.status_code == 401
    thief, _ = call(ec.generate_private_key(ec.SECP256R1()))
    assert (thief.status_code, thief.json()["error"]) == (401, "invalid_token")
    assert "DPoP" in thief.headers["WWW-Authenticate"]
    # A proof for another request (billing's URL, or POST) is refused too.
    other = dpop.make_proof(key, "POST", url, iat=fed.clock.now(), access_token=token)
    wrong_method = fed.orders.http.get(
        "/orders", headers={"Authorization": f"DPoP {token}", "DPoP": other}
    )
    assert wrong_method.status_code == 401
    fresh, _ = call(key)
    assert fresh.status_code == 200


def test_a_plain_bearer_token_stolen_the_same_way_still_works(fed, alice):
    """The gap DPoP closes: whoever copies a Bearer token is its bearer."""
    thief = requests.Session()
    thief.trust_env = False
    answer = thief.get(fed.orders.url + "/orders", headers=bearer(alice["access_token"]))
    thief.close()
    assert answer.status_code == 200 and answer.json()["sub"] == "alice"


def test_a_dpop_bound_refresh_token_needs_the_same_key(fed, app):
    key = ec.generate_private_key(ec.SECP256R1())
    tokens = app.login("bob", PASSWORDS["bob"], dpop_key=key)
    unbound = app.refresh(tokens["refresh_token"])
    assert (unbound["status"], unbound["error"]) == (400, "invalid_grant")
    other = app.refresh(tokens["refresh_token"], dpop_key=ec.generate_private_key(ec.SECP256R1()))
    assert (other["status"], other["error"]) == (400, "invalid_grant")
    same = app.refresh(tokens["refresh_token"], dpop_key=key)
    assert same["status"] == 200 and same["token_type"] == "DPoP"
    assert claims_of(same["access_token"])["cnf"] == claims_of(tokens["access_token"])["cnf"]


@pytest.mark.parametrize("proof", ["x", "a.b.c", "", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.", "é"])
def test_a_garbage_dpop_proof_at_the_token_endpoint_is_invalid_dpop_proof(fed, proof):
    form = {"grant_type": "client_credentials", "scope": "billing:read"}
    answer = token_request(fed, form, auth=ORDERS_SERVICE, headers={"DPoP": proof})
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_dpop_proof")


def test_a_replayed_proof_at_the_token_endpoint_is_refused(fed):
    key = ec.generate_private_key(ec.SECP256R1())
    proof = dpop.make_proof(key, "POST", fed.idp.url + "/oauth2/token", iat=fed.clock.now())
    form = {"grant_type": "client_credentials", "scope": "billing:read"}
    first = token_request(fed, form, auth=ORDERS_SERVICE, headers={"DPoP": proof})
    assert first.status_code == 200 and first.json()["token_type"] == "DPoP"
    again = token_request(fed, form, auth=ORDERS_SERVICE, headers={"DPoP": proof})
    assert (again.status_code, again.json()["error"]) == (400, "invalid_dpop_proof")


# ---- the identity provider goes down -----------------------------------------------------------


@pytest.fixture
def down(redis_url):
    """A federation of its own, whose provider the test stops."""
    yield from run_federation(redis_url)


def test_when_the_provider_is_down_apis_verify_with_cached_keys_and_no_token_is_issued(down):
    fed = down
    alice = NativeApp(fed.idp).login("alice", PASSWORDS["alice"])
    billing_token = service_token(fed, "billing:read")
    headers = bearer(alice["access_token"])
    assert fed.orders.http.get("/orders", headers=headers).status_code == 200  # keys fetched
    fed.idp.stop()
    # Orders verifies with the keys it holds: no call to the provider is needed.
    assert fed.orders.http.get("/orders", headers=headers).status_code == 200
    # No new token: the provider does not answer at all.
    with pytest.raises(requests.ConnectionError):
        requests.post(
            fed.idp.url + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=ORDERS_SERVICE,
            timeout=5,
        )
    # Billing never fetched the keys: it cannot verify anything, and says so with a 503.
    down = fed.billing.http.get("/invoices", headers=bearer(billing_token))
    assert (down.status_code, down.json()["error"]) == (503, "service_unavailable")
    assert "identity provider" in down.json()["error_description"]
    # Paying needs a token exchange at the provider: orders answers 503 too, not 500.
    pay = fed.orders.http.post("/orders/A-1001/pay", headers=headers)
    assert (pay.status_code, pay.json()["error"]) == (503, "service_unavailable")
    # Cached keys do not stretch a token: once expired, it is refused as ever.
    fed.clock.advance(300 + 31)
    expired = fed.orders.http.get("/orders", headers=headers)
    assert (expired.status_code, expired.json()["error"]) == (401, "invalid_token")
