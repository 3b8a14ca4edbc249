"""Chapter 04's identity provider, over real HTTP: discovery, JWKS, the authorization code flow
with PKCE for the native app, OIDC ID tokens, client credentials (client_secret_basic and
private_key_jwt), refresh rotation and reuse detection, revocation and introspection; and every
error RFC 6749 section 5.2 names, with the status and ``error`` it says.

The APIs' side (audience, scope, DPoP, token exchange, the provider going down) is in
``tests/test_resource_servers.py``.
"""

from __future__ import annotations

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

from labserver import PASSWORDS
from labserver.oauth.native_app import FlowError, NativeApp, redirect_params
from tests.federation_helpers import (
    BFF,
    ORDERS_SERVICE,
    at_hash,
    authorize_url,
    bearer,
    claims_of,
    reports_assertion,
    reports_form,
    service_token,
    token_request,
    verify,
)

PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


#: Every test here ends by checking that no system recorded a crash (each would have been a 500).
pytestmark = pytest.mark.usefixtures("no_crashes")


@pytest.fixture
def app(fed):
    """The native app, listening on a loopback port of its own."""
    app = NativeApp(fed.idp)
    yield app
    app.listener.stop()


def introspect(lab, token: str, auth=ORDERS_SERVICE) -> dict:
    answer = lab.idp.http.post("/oauth2/introspect", data={"token": token}, auth=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


# ---- discovery and keys -----------------------------------------------------------------------


def test_discovery_metadata_is_valid_rfc8414_and_oidc(fed):
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        meta = fed.idp.http.get(path).json()
        AuthorizationServerMetadata(meta).validate()
        OpenIDProviderMetadata(meta).validate()
        assert meta["issuer"] == fed.idp.url
        assert meta["token_endpoint"] == fed.idp.url + "/oauth2/token"
        assert meta["code_challenge_methods_supported"] == ["S256"]
    # The provider is a system of its own: another origin than either API.
    assert len({fed.idp.url, fed.orders.url, fed.billing.url, fed.url}) == 4


def test_jwks_has_public_keys_only(fed):
    answer = fed.idp.http.get("/.well-known/jwks.json")
    keys = answer.json()["keys"]
    assert answer.status_code == 200 and keys
    for key in keys:
        assert not PRIVATE_JWK_MEMBERS & set(key), key
        assert key["kid"] and key["alg"] and key["use"] == "sig"
    algs = {k["alg"] for k in keys}
    assert {"ES256", "RS256"} <= algs and "HS256" not in algs


# ---- authorization code + PKCE, OIDC -----------------------------------------------------------


def test_code_flow_with_pkce_on_a_loopback_redirect(fed, app):
    auth = app.authorization_request()
    assert auth.code_challenge != auth.code_verifier and len(auth.code_verifier) >= 43
    callback = app.sign_in(auth, "alice", PASSWORDS["alice"])
    assert set(callback) == {"code", "state", "iss"} and callback["iss"] == fed.idp.url
    tokens = app.exchange(auth, callback)
    assert tokens["status"] == 200 and tokens["token_type"] == "Bearer"
    assert {"access_token", "id_token", "refresh_token", "expires_in"} <= set(tokens)
    access = verify(fed, tokens["access_token"], "orders")
    assert access["sub"] == "alice" and access["client_id"] == "mobile-app"
    assert set(access) >= {"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"}
    assert access["exp"] - access["iat"] == tokens["expires_in"] == 300
    answer = fed.orders.http.get("/orders", headers=bearer(tokens["access_token"]))
    assert answer.status_code == 200 and answer.json()["sub"] == "alice"


def test_the_loopback_port_may_vary_and_only_it(fed, app):
    other = NativeApp(fed.idp)  # a second run of the app: another loopback port
    assert app.listener.redirect_uri != other.listener.redirect_uri
    for native in (app, other):
        assert native.login("bob", PASSWORDS["bob"])["status"] == 200
    for port in ("1", "65535", "8080"):
        url = authorize_url(app, redirect_uri=f"http://127.0.0.1:{port}/callback")
        assert app.browser.get(url, allow_redirects=False).status_code == 200


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:{port}/other",  # another path
        "http://127.0.0.1:{port}/callback/",
        "https://127.0.0.1:{port}/callback",  # another scheme
        "http://localhost:{port}/callback",  # another host
        "http://127.0.0.2:{port}/callback",
        "http://[::1]:{port}/callback",
        "http://127.0.0.1:{port}/callback?next=x",  # a query
        "http://127.0.0.1:{port}/callback#x",
        "http://127.0.0.1:{port}@evil.example/callback",
        "http://evil.example@127.0.0.1:{port}/callback",
        "http://127.0.0.1:abc/callback",
        "http://127.0.0.1:{port}/CALLBACK",
        "",
    ],
)
def test_a_redirect_uri_other_than_the_registered_one_is_refused(fed, app, redirect_uri):
    port = app.listener.redirect_uri.split(":")[2].split("/")[0]
    url = authorize_url(app, redirect_uri=redirect_uri.format(port=port))
    answer = app.browser.get(url, allow_redirects=False)
    # Never redirected to the unregistered URI (an open redirector would leak the code).
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert answer.json()["error"] == "invalid_request"


def test_id_token_is_for_the_client_and_access_token_for_the_api(fed, app):
    auth = app.authorization_request()
    tokens = app.exchange(auth, app.sign_in(auth, "alice", PASSWORDS["alice"]))
    id_token, access_token = tokens["id_token"], tokens["access_token"]
    claims = verify(fed, id_token, "mobile-app")
    assert claims["nonce"] == auth.nonce
    assert claims["azp"] == "mobile-app" and claims["sub"] == "alice"
    assert claims["at_hash"] == at_hash(access_token)
    assert claims["iat"] <= fed.clock.now() < claims["exp"]
    assert verify(fed, access_token, "orders")["aud"] == "orders"
    import jwt

    with pytest.raises(jwt.InvalidAudienceError):
        verify(fed, id_token, "orders")  # an API is not the ID token's audience
    assert jwt.get_unverified_header(id_token)["typ"] == "JWT"
    assert jwt.get_unverified_header(access_token)["typ"] == "at+jwt"
    answer = fed.orders.http.get("/orders", headers=bearer(id_token))
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"
    assert "typ" in answer.json()["error_description"]


def test_a_code_is_single_use_and_its_replay_revokes_what_it_issued(fed, app):
    auth = app.authorization_request()
    callback = app.sign_in(auth, "alice", PASSWORDS["alice"])
    tokens = app.exchange(auth, callback)
    assert introspect(fed, tokens["access_token"])["active"] is True
    replay = app.exchange(auth, callback)
    assert (replay["status"], replay["error"]) == (400, "invalid_grant")
    assert introspect(fed, tokens["access_token"]) == {"active": False}
    refreshed = app.refresh(tokens["refresh_token"])
    assert (refreshed["status"], refreshed["error"]) == (400, "invalid_grant")


def test_an_expired_code_is_refused(fed, app):
    auth = app.authorization_request()
    callback = app.sign_in(auth, "alice", PASSWORDS["alice"])
    fed.clock.advance(61)
    answer = app.exchange(auth, callback)
    assert (answer["status"], answer["error"]) == (400, "invalid_grant")
    assert "expired" in answer["error_description"]


@pytest.mark.parametrize(
    "params",
    [
        {"code_challenge": None, "code_challenge_method": None},  # no PKCE at all
        {"code_challenge": None},
        {"code_challenge_method": "plain"},
        {"code_challenge_method": None},  # means plain (RFC 7636 section 4.3)
    ],
    ids=["no-pkce", "no-challenge", "plain", "no-method"],
)
def test_a_pkce_downgrade_at_the_authorization_endpoint_is_refused(fed, app, params):
    answer = app.browser.get(authorize_url(app, **params), allow_redirects=False)
    assert answer.status_code == 302
    back = redirect_params(answer.headers["Location"])
    assert back["error"] == "invalid_request" and back["state"] == "s-1"
    assert answer.headers["Location"].startswith(app.listener.redirect_uri + "?")


def test_the_code_needs_its_verifier_at_the_token_endpoint(fed, app):
    auth = app.authorization_request()
    callback = app.sign_in(auth, "alice", PASSWORDS["alice"])
    form = {
        "grant_type": "authorization_code",
        "code": callback["code"],
        "redirect_uri": auth.redirect_uri,
        "client_id": "mobile-app",
    }
    missing = token_request(fed, form)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    assert "code_verifier" in missing.json()["error_description"]
    wrong = app.exchange(auth, callback, code_verifier="x" * 43)
    assert (wrong["status"], wrong["error"]) == (400, "invalid_grant")


def test_pkce_values_must_match_rfc_7636_whole(fed, app):
    """A verifier or challenge with a trailing newline is refused (Authlib's patterns, re.match
    with $, let one through), as is a challenge that cannot be an S256 digest."""
    for challenge in ("A" * 43 + "\n", "A" * 42, "A" * 44, "A" * 42 + "="):
        answer = app.browser.get(
            authorize_url(app, code_challenge=challenge), allow_redirects=False
        )
        back = redirect_params(answer.headers["Location"])
        assert back["error"] == "invalid_request", repr(challenge)
    auth = app.authorization_request()
    callback = app.sign_in(auth, "alice", PASSWORDS["alice"])
    answer = app.exchange(auth, callback, code_verifier=auth.code_verifier + "\n")
    assert (answer["status"], answer["error"]) == (400, "invalid_request")


def test_the_code_exchange_needs_the_same_redirect_uri_and_client(fed, app):
    auth = app.authorization_request()
    callback = app.sign_in(auth, "alice", PASSWORDS["alice"])
    form = {
        "grant_type": "authorization_code",
        "code": callback["code"],
        "client_id": "mobile-app",
        "code_verifier": auth.code_verifier,
    }
    other = token_request(fed, {**form, "redirect_uri": "http://127.0.0.1:1/callback"})
    assert (other.status_code, other.json()["error"]) == (400, "invalid_grant")
    as_bff = token_request(fed, {**form, "redirect_uri": auth.redirect_uri}, auth=BFF)
    assert (as_bff.status_code, as_bff.json()["error"]) == (400, "invalid_grant")


def test_a_state_mismatch_is_detected_by_the_app(fed, app):
    auth = app.authorization_request()
    callback = app.sign_in(auth, "alice", PASSWORDS["alice"])
    with pytest.raises(FlowError, match="state mismatch"):
        app.code_from(auth, {**callback, "state": "forged"})
    with pytest.raises(FlowError, match="state mismatch"):
        app.code_from(auth, {k: v for k, v in callback.items() if k != "state"})
    with pytest.raises(FlowError, match="RFC 9207"):
        app.code_from(auth, {**callback, "iss": "http://127.0.0.1:1"})
    assert app.code_from(auth, callback) == callback["code"]


def test_a_wrong_password_gets_the_page_again_with_401(fed, app):
    auth = app.authorization_request()
    answer = app.browser.post(
        auth.url,
        data={"username": "alice", "password": "nope", "decision": "allow"},
        allow_redirects=False,
    )
    assert answer.status_code == 401 and answer.headers["Content-Type"].startswith("text/html")
    assert "Wrong username or password" in answer.text and "Location" not in answer.headers
    assert answer.headers["X-Frame-Options"] == "DENY"
    unknown = app.browser.post(
        auth.url, data={"username": "nobody", "password": "x", "decision": "allow"}
    )
    assert unknown.status_code == 401


def test_deny_redirects_back_with_access_denied(fed, app):
    auth = app.authorization_request()
    callback = app.sign_in(auth, "alice", PASSWORDS["alice"], decision="deny")
    assert callback["error"] == "access_denied" and callback["state"] == auth.state
    assert "code" not in callback
    with pytest.raises(FlowError, match="access_denied"):
        app.code_from(auth, callback)


@pytest.mark.parametrize("decision", ["", "maybe", None])
def test_a_form_without_a_decision_is_invalid_request(fed, app, decision):
    auth = app.authorization_request()
    data = {"username": "alice", "password": PASSWORDS["alice"]}
    if decision is not None:
        data["decision"] = decision
    answer = app.browser.post(auth.url, data=data, allow_redirects=False)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


def test_scopes_of_two_apis_or_unknown_ones_are_refused_at_the_authorization_endpoint(fed, app):
    for scope in ("openid orders:read billing:read", "orders:read admin", "billing:read"):
        answer = app.browser.get(authorize_url(app, scope=scope), allow_redirects=False)
        assert answer.status_code in (302, 400), (scope, answer.status_code)
        back = (
            redirect_params(answer.headers["Location"])
            if answer.status_code == 302
            else answer.json()
        )
        assert back["error"] == "invalid_scope", (scope, back)


def test_openid_alone_gets_an_id_token(fed, app):
    tokens = app.login("alice", PASSWORDS["alice"], scope="openid")
    assert tokens["status"] == 200
    assert verify(fed, tokens["id_token"], "mobile-app")["sub"] == "alice"


# ---- client credentials ------------------------------------------------------------------------


def test_client_credentials_with_client_secret_basic(fed):
    token = service_token(fed, "billing:read")
    claims = verify(fed, token, "billing")
    assert claims["sub"] == claims["client_id"] == "orders-service"
    assert claims["scope"] == "billing:read"
    answer = fed.billing.http.get("/invoices", headers=bearer(token))
    assert answer.status_code == 200 and answer.json()["sub"] == "orders-service"


def test_client_credentials_with_private_key_jwt(fed):
    assertion = reports_assertion(fed)
    form = reports_form(assertion, grant_type="client_credentials", scope="orders:read")
    answer = token_request(fed, form)
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    assert verify(fed, token, "orders")["sub"] == "reports-job"
    orders = fed.orders.http.get("/orders", headers=bearer(token)).json()["orders"]
    assert {o["user"] for o in orders} >= {"alice", "bob"}  # a service as itself sees all
    replay = token_request(fed, form)
    # 400, not 401: RFC 6749 section 5.2 asks for 401 when the client used the Authorization
    # header, and an assertion travels in the form.
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_client")
    assert "used before" in replay.json()["error_description"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "http://127.0.0.1:1"},
        {"iss": "mobile-app"},
        {"sub": "orders-service", "iss": "orders-service"},
        {"exp": None},
        {"jti": None},
        {"exp": "soon"},
        {"exp": 10**12},
        {"jti": ""},
        {"jti": ["x"]},
        {"expired": True},
        {"key": "other"},
    ],
    ids=lambda o: ",".join(o),
)
def test_a_bad_client_assertion_is_invalid_client(fed, overrides):
    from cryptography.hazmat.primitives.asymmetric import ec

    if overrides.pop("expired", None):
        overrides["exp"] = int(fed.clock.now()) + 10
    if overrides.get("key") == "other":
        overrides["key"] = ec.generate_private_key(ec.SECP256R1())
    assertion = reports_assertion(fed, **overrides)
    if "exp" in overrides and isinstance(overrides["exp"], int) and overrides["exp"] < 10**11:
        fed.clock.advance(120)
    form = reports_form(assertion, grant_type="client_credentials", scope="orders:read")
    answer = token_request(fed, form)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_client"), answer.text


def test_client_credentials_scope_rules(fed):
    two_apis = reports_form(
        reports_assertion(fed), grant_type="client_credentials", scope="orders:read billing:read"
    )
    answer = token_request(fed, two_apis)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope")
    for scope in ("orders:read", "admin", "billing:read billing:refund"):
        form = {"grant_type": "client_credentials", "scope": scope}
        answer = token_request(fed, form, auth=ORDERS_SERVICE)
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope"), scope


# ---- refresh -----------------------------------------------------------------------------------


def test_refresh_rotates_and_a_reused_token_revokes_the_family(fed, app):
    first = app.login("alice", PASSWORDS["alice"])
    second = app.refresh(first["refresh_token"])
    assert second["status"] == 200 and second["refresh_token"] != first["refresh_token"]
    assert "id_token" not in second or second["id_token"]
    assert claims_of(second["access_token"])["sub"] == "alice"
    reuse = app.refresh(first["refresh_token"])
    assert (reuse["status"], reuse["error"]) == (400, "invalid_grant")
    assert "reuse" in reuse["error_description"]
    after = app.refresh(second["refresh_token"])  # the whole family is gone
    assert (after["status"], after["error"]) == (400, "invalid_grant")
    assert introspect(fed, second["access_token"]) == {"active": False}


def test_refresh_may_narrow_but_not_widen_the_scope(fed, app):
    tokens = app.login("alice", PASSWORDS["alice"], scope="openid orders:read")
    wider = app.refresh(tokens["refresh_token"], scope="orders:read orders:write")
    assert (wider["status"], wider["error"]) == (400, "invalid_scope")
    narrower = app.refresh(tokens["refresh_token"], scope="orders:read")
    assert narrower["status"] == 200 and narrower["scope"] == "orders:read"


def test_a_refresh_token_belongs_to_its_client(fed, app):
    tokens = app.login("alice", PASSWORDS["alice"])
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    answer = token_request(fed, form, auth=BFF)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")


def test_an_expired_refresh_token_is_refused(fed, app):
    tokens = app.login("alice", PASSWORDS["alice"])
    fed.clock.advance(24 * 3600 + 1)
    answer = app.refresh(tokens["refresh_token"])
    assert (answer["status"], answer["error"]) == (400, "invalid_grant")


# ---- revocation and introspection --------------------------------------------------------------


def test_introspection_describes_an_active_token(fed, app):
    tokens = app.login("alice", PASSWORDS["alice"])
    answer = introspect(fed, tokens["access_token"])
    assert answer["active"] is True and answer["aud"] == "orders" and answer["sub"] == "alice"
    assert answer["client_id"] == "mobile-app" and "orders:read" in answer["scope"]
    refresh = introspect(fed, tokens["refresh_token"])
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"
    assert introspect(fed, "not-a-token") == {"active": False}
    fed.clock.advance(301)
    assert introspect(fed, tokens["access_token"]) == {"active": False}


def test_introspection_needs_client_authentication(fed, app):
    tokens = app.login("alice", PASSWORDS["alice"])
    for auth in (None, ("orders-service", "wrong"), ("nobody", "x")):
        answer = fed.idp.http.post(
            "/oauth2/introspect", data={"token": tokens["access_token"]}, auth=auth
        )
        assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client"), auth


def test_revoking_the_refresh_token_ends_the_grant(fed, app):
    tokens = app.login("alice", PASSWORDS["alice"])
    answer = fed.idp.http.post(
        "/oauth2/revoke",
        data={
            "token": tokens["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": "mobile-app",
        },
    )
    assert answer.status_code == 200
    refreshed = app.refresh(tokens["refresh_token"])
    assert (refreshed["status"], refreshed["error"]) == (400, "invalid_grant")
    assert introspect(fed, tokens["access_token"]) == {"active": False}


def test_a_revoked_access_token_still_works_at_the_apis_until_it_expires(fed, app):
    """The lesson: revocation changes what introspection says; an API that verifies by
    signature alone does not ask, so it keeps accepting the token until ``exp``."""
    tokens = app.login("alice", PASSWORDS["alice"])
    access = tokens["access_token"]
    answer = fed.idp.http.post(
        "/oauth2/revoke",
        data={"token": access, "token_type_hint": "access_token", "client_id": "mobile-app"},
    )
    assert answer.status_code == 200
    assert introspect(fed, access) == {"active": False}
    assert fed.orders.http.get("/orders", headers=bearer(access)).status_code == 200
    assert app.refresh(tokens["refresh_token"])["status"] == 200  # the grant lives on
    fed.clock.advance(300 + 31)  # past exp and the APIs' 30 s leeway
    expired = fed.orders.http.get("/orders", headers=bearer(access))
    assert (expired.status_code, expired.json()["error"]) == (401, "invalid_token")


def test_an_unknown_token_type_hint_is_ignored(fed, app):
    """RFC 7009 / RFC 7662 section 2.1: a hint the server does not know may be ignored; the
    token is looked up among every kind (Authlib answered 401 unsupported_token_type)."""
    tokens = app.login("alice", PASSWORDS["alice"])
    hinted = {"token": tokens["access_token"], "token_type_hint": "a-kind-of-its-own"}
    answer = fed.idp.http.post("/oauth2/introspect", data=hinted, auth=ORDERS_SERVICE)
    assert answer.status_code == 200 and answer.json()["active"] is True
    hinted = {"token": tokens["refresh_token"], "token_type_hint": "x", "client_id": "mobile-app"}
    assert fed.idp.http.post("/oauth2/revoke", data=hinted).status_code == 200
    assert app.refresh(tokens["refresh_token"])["error"] == "invalid_grant"
    missing = fed.idp.http.post(
        "/oauth2/introspect", data={"token_type_hint": "x"}, auth=ORDERS_SERVICE
    )
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")


def test_a_response_mode_other_than_query_is_refused(fed, app):
    """The provider offers response_mode=query only (its metadata says so): a form_post or
    fragment request is refused before any login page, not answered in another way."""
    for mode in ("form_post", "fragment", "web_message"):
        request = app.authorization_request(extra={"response_mode": mode})
        answer = app.browser.get(request.url, allow_redirects=False)
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request"), mode


def test_a_client_cannot_revoke_another_clients_token(fed, app):
    tokens = app.login("alice", PASSWORDS["alice"])
    answer = fed.idp.http.post("/oauth2/revoke", data={"token": tokens["refresh_token"]}, auth=BFF)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    assert app.refresh(tokens["refresh_token"])["status"] == 200
    unknown = fed.idp.http.post("/oauth2/revoke", data={"token": "nope"}, auth=BFF)
    assert unknown.status_code == 200  # RFC 7009 section 2.2: an unknown token is no error


# ---- RFC 6749 section 5.2, one error at a time -------------------------------------------------


@pytest.mark.parametrize(
    ("form", "auth", "status", "error"),
    [
        ({}, ORDERS_SERVICE, 400, "unsupported_grant_type"),
        (
            {
                "grant_type": "password",
                "username": "alice",
                "password": "wonderland",
                "client_id": "mobile-app",
            },
            None,
            400,
            "unsupported_grant_type",
        ),
        ({"grant_type": "implicit"}, ORDERS_SERVICE, 400, "unsupported_grant_type"),
        (
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"},
            ORDERS_SERVICE,
            400,
            "unsupported_grant_type",
        ),
        ({"grant_type": "client_credentials"}, ("orders-service", "wrong"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, ("nobody", "x"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        (
            {"grant_type": "client_credentials", "client_id": "mobile-app"},
            None,
            401,
            "invalid_client",
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": "orders-service",
                "client_secret": "orders-to-billing-secret",
            },
            None,
            401,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials"}, BFF, 400, "unauthorized_client"),
        (
            {"grant_type": "authorization_code", "code": "x", "redirect_uri": "http://x/"},
            ORDERS_SERVICE,
            400,
            "unauthorized_client",
        ),
        (
            {"grant_type": "refresh_token", "refresh_token": "x"},
            ORDERS_SERVICE,
            400,
            "unauthorized_client",
        ),
        (
            {"grant_type": "authorization_code", "client_id": "mobile-app"},
            None,
            400,
            "invalid_request",
        ),
        (
            {
                "grant_type": "authorization_code",
                "code": "nope",
                "client_id": "mobile-app",
                "code_verifier": "x" * 43,
            },
            None,
            400,
            "invalid_grant",
        ),
        ({"grant_type": "refresh_token", "client_id": "mobile-app"}, None, 400, "invalid_request"),
        (
            {"grant_type": "refresh_token", "refresh_token": "nope", "client_id": "mobile-app"},
            None,
            400,
            "invalid_grant",
        ),
        (
            {"grant_type": "client_credentials", "scope": "billing:read"},
            ("orders-service", "orders-to-billing-secret\u00e9"),
            401,
            "invalid_client",
        ),
    ],
)
def test_token_endpoint_errors(fed, form, auth, status, error):
    answer = token_request(fed, form, auth=auth)
    assert (answer.status_code, answer.json()["error"]) == (status, error), answer.text
    assert answer.json()["error_description"], "every error says which rule failed"
    assert answer.headers["Cache-Control"] == "no-store"
    if status == 401 and auth is not None:
        # RFC 6749 section 5.2: Basic was used, so the challenge names Basic.
        assert answer.headers["WWW-Authenticate"].startswith("Basic")


def test_repeated_parameters_are_invalid_request(fed, app):
    body = "grant_type=client_credentials&grant_type=client_credentials&scope=billing:read"
    answer = fed.idp.http.post(
        "/oauth2/token",
        data=body,
        auth=ORDERS_SERVICE,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    url = authorize_url(app) + "&state=twice"
    answer = app.browser.get(url, allow_redirects=False)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


def test_the_token_endpoint_takes_post_only(fed):
    answer = fed.idp.http.get("/oauth2/token", params={"grant_type": "client_credentials"})
    assert answer.status_code == 405


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "nobody"},
        {"client_id": None},
        {"client_id": "orders-service"},  # a client with no redirect URI at all
    ],
)
def test_an_unknown_client_at_the_authorization_endpoint_is_not_redirected(fed, app, params):
    answer = app.browser.get(authorize_url(app, **params), allow_redirects=False)
    assert answer.status_code in (400, 401) and "Location" not in answer.headers
    assert answer.json()["error"] in ("invalid_client", "invalid_request", "unauthorized_client")


def test_an_unsupported_response_type_is_redirected_with_its_error(fed, app):
    answer = app.browser.get(authorize_url(app, response_type="token"), allow_redirects=False)
    assert answer.status_code == 302
    assert redirect_params(answer.headers["Location"])["error"] == "unsupported_response_type"


# ---- regressions found by the route-by-route fuzz (tests/test_fuzz.py) ------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"response_type": "\u00e9"},
        {"redirect_uri": "\u00e9"},
        {"response_type": 'a"b'},
        {"redirect_uri": "http://127.0.0.1:1/\\"},
    ],
)
def test_parameters_authlib_would_quote_in_its_error_are_invalid_request(fed, app, params):
    """Authlib quotes these in error_description, and refuses characters RFC 6749 does not
    allow there with a ValueError: it was a 500."""
    for method in ("GET", "POST"):
        answer = app.browser.request(method, authorize_url(app, **params), allow_redirects=False)
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"audience": "\u00e9"}, "invalid_target"),
        ({"audience": None, "resource": 'http://x/"'}, "invalid_target"),
        ({"requested_token_type": "\u00e9\\"}, "invalid_request"),
    ],
)
def test_exchange_errors_quoting_odd_input_are_still_errors(fed, app, change, error):
    from tests.federation_helpers import exchange_form

    tokens = app.login("alice", PASSWORDS["alice"])
    answer = token_request(fed, exchange_form(tokens["access_token"], **change), ORDERS_SERVICE)
    assert (answer.status_code, answer.json()["error"]) == (400, error)


def test_a_basic_header_that_is_not_base64_of_utf8_is_invalid_client(fed):
    import base64

    for credentials in ("\u00e9", base64.b64encode(b"orders-service:\xe9").decode(), "===="):
        answer = fed.idp.http.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {credentials}".encode("latin-1")},
        )
        assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
        assert answer.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "path", ["/oauth2/authorize", "/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"]
)
@pytest.mark.parametrize("host", ["hub.example.org", "a@hub.example", ""])
def test_plain_http_to_a_host_that_is_not_loopback_is_refused_with_its_rule(fed, path, host):
    """Authlib refuses OAuth over plain HTTP except to loopback (a proxy passes the browser's
    Host on, a hub's say): a 400 that says so, not a 500."""
    client = fed.idp.app.test_client(use_cookies=False)
    r = client.post(path, data={"grant_type": "client_credentials"}, headers={"Host": host})
    assert r.status_code == 400, r.get_data()
    assert r.get_json()["error"] == "invalid_request"
    assert "HTTPS" in r.get_json()["error_description"]
