"""Chapter 2's tokens: issuing, the verifier's every rule, JWKS, rotation, and forged tokens."""

import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.utils import base64url_decode, base64url_encode

from labserver import PASSWORDS
from labserver.access_tokens import (
    TokenPolicy,
    TokenRejected,
    verify_access_token,
    verify_signature,
)
from labserver.keys import ALGORITHMS, KeyRing, SigningKey

ISS, AUD = "https://issuer.jwt-lab.test", "https://api.jwt-lab.test"
POLICY = TokenPolicy(issuer=ISS, audience=AUD, leeway=30)
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def keys():
    return KeyRing()


def claims(**changes):
    base = {
        "iss": ISS,
        "sub": "alice",
        "aud": AUD,
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 300,
        "jti": "j1",
        "client_id": "jwt-lab-notebook",
        "roles": ["user"],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(keys, payload, alg="ES256", **header):
    key = keys.current(alg)
    return jwt.encode(
        payload, key.signing_key, algorithm=alg, headers={"typ": "at+jwt", "kid": key.kid, **header}
    )


def raw(header: dict, payload: dict, signature: bytes = b"") -> str:
    """A compact JWS assembled by hand (for forgeries PyJWT would refuse to make)."""
    part = lambda obj: base64url_encode(json.dumps(obj).encode()).decode()  # noqa: E731
    return f"{part(header)}.{part(payload)}.{base64url_encode(signature).decode()}"


def rejected(token, keys, now=NOW, policy=POLICY) -> TokenRejected:
    with pytest.raises(TokenRejected) as info:
        verify_access_token(token, keys, policy, now)
    return info.value


# --- accepted ---


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_a_correct_token_verifies_with_every_algorithm(keys, alg):
    verified = verify_access_token(sign(keys, claims(), alg), keys, POLICY, NOW)
    assert verified.claims["sub"] == "alice" and verified.key.alg == alg


# --- each rule, refused with its name ---


@pytest.mark.parametrize("spelling", ["none", "None", "NONE", "nOnE", " none"])
def test_alg_none_is_never_accepted_in_any_spelling(keys, spelling):
    kid = keys.current("ES256").kid
    token = raw({"alg": spelling, "typ": "at+jwt", "kid": kid}, claims())
    assert rejected(token, keys).rule == "algorithm_not_allowed"


def test_alg_none_made_by_pyjwt_is_refused(keys):
    token = jwt.encode(
        claims(),
        None,
        algorithm="none",
        headers={"kid": keys.current("ES256").kid, "typ": "at+jwt"},
    )
    assert rejected(token, keys).rule == "algorithm_not_allowed"


def test_hs256_signed_with_the_rsa_public_key_is_refused(keys):
    """Algorithm confusion: the attacker uses the published RSA public key as an HMAC secret."""
    rsa_key = keys.current("RS256")
    pem = rsa_key.verifying_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": rsa_key.kid}
    unsigned = raw(header, claims(roles=["admin"])).rsplit(".", 1)[0]
    signature = hmac.new(pem, unsigned.encode(), hashlib.sha256).digest()
    token = unsigned + "." + base64url_encode(signature).decode()
    error = rejected(token, keys)
    assert error.rule == "algorithm_not_allowed" and "only verifies RS256" in error.description


def test_an_algorithm_other_than_the_keys_is_refused(keys):
    token = sign(keys, claims(), "ES256", kid=keys.current("EdDSA").kid)
    assert rejected(token, keys).rule == "algorithm_not_allowed"


def test_unknown_kid_is_refused_with_a_clear_reason(keys):
    token = sign(keys, claims(), kid="es256-99")
    error = rejected(token, keys)
    assert error.rule == "unknown_key" and "'es256-99'" in str(error)


def test_missing_kid_is_refused(keys):
    key = keys.current("ES256")
    token = jwt.encode(claims(), key.signing_key, algorithm="ES256", headers={"typ": "at+jwt"})
    assert rejected(token, keys).rule == "unknown_key"


def test_a_key_the_lab_does_not_have_is_a_bad_signature(keys):
    other = KeyRing()
    token = jwt.encode(
        claims(),
        other.current("ES256").signing_key,
        algorithm="ES256",
        headers={"typ": "at+jwt", "kid": keys.current("ES256").kid},
    )
    assert rejected(token, keys).rule == "bad_signature"


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_a_tampered_payload_is_a_bad_signature(keys, alg):
    header, _, signature = sign(keys, claims(), alg).split(".")
    forged_payload = base64url_encode(json.dumps(claims(roles=["admin"])).encode()).decode()
    error = rejected(f"{header}.{forged_payload}.{signature}", keys)
    assert error.rule == "bad_signature"


def test_a_flipped_signature_bit_is_a_bad_signature(keys):
    header, payload, signature = sign(keys, claims(), "HS256").split(".")
    flipped = bytearray(base64url_decode(signature))
    flipped[0] ^= 1
    assert (
        rejected(f"{header}.{payload}.{base64url_encode(bytes(flipped)).decode()}", keys).rule
        == "bad_signature"
    )


@pytest.mark.parametrize("typ", [None, "JWT", "at+JWT-no", "application/jwt"])
def test_typ_must_say_access_token(keys, typ):
    key = keys.current("ES256")
    header = {"kid": key.kid} if typ is None else {"kid": key.kid, "typ": typ}
    token = jwt.encode(claims(), key.signing_key, algorithm="ES256", headers=header)
    if typ is None:  # PyJWT adds typ "JWT" by default; remove it by hand-building
        token = jwt.encode(
            claims(), key.signing_key, algorithm="ES256", headers={"kid": key.kid, "typ": None}
        )
    assert rejected(token, keys).rule == "wrong_type"


def test_typ_may_be_the_full_media_type(keys):
    token = sign(keys, claims(), typ="application/at+jwt")
    assert verify_access_token(token, keys, POLICY, NOW).claims["sub"] == "alice"


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "iss", "aud", "jti", "client_id"])
def test_required_claims(keys, claim):
    error = rejected(sign(keys, claims(**{claim: None})), keys)
    assert error.rule == "missing_claim" and repr(claim) in str(error)


def test_wrong_issuer(keys):
    error = rejected(sign(keys, claims(iss="https://evil.test")), keys)
    assert error.rule == "wrong_issuer" and "https://evil.test" in str(error)


@pytest.mark.parametrize("aud", ["https://other-api.test", ["https://other-api.test"], [1, AUD]])
def test_wrong_audience_is_refused(keys, aud):
    assert rejected(sign(keys, claims(aud=aud)), keys).rule == "wrong_audience"


@pytest.mark.parametrize("aud", [AUD, [AUD], [AUD, "https://other-api.test"]])
def test_audience_may_be_a_list_that_contains_this_api(keys, aud):
    """RFC 9068 section 4 / RFC 7519 section 4.1.3: aud must *contain* the API's identifier."""
    assert verify_access_token(sign(keys, claims(aud=aud)), keys, POLICY, NOW).claims["aud"] == aud


@pytest.mark.parametrize("claim", ["jti", "client_id"])
def test_rfc9068_requires_jti_and_client_id(keys, claim):
    """Without jti, revoking the token (deny list, keyed on jti) would be a silent no-op."""
    problem = rejected(sign(keys, claims(**{claim: None})), keys)
    assert problem.rule == "missing_claim" and claim in problem.description


@pytest.mark.parametrize("claim", ["sub", "jti", "client_id"])
@pytest.mark.parametrize("value", ["", 7, ["alice"], {}])
def test_identifying_claims_must_be_non_empty_strings(keys, claim, value):
    assert rejected(sign(keys, claims(**{claim: value})), keys).rule == "invalid_claim"


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), float("-inf"), 1e30, -1e30, "x", [NOW]]
)
def test_time_claims_must_be_finite_numeric_dates(keys, claim, value):
    """exp NaN or Infinity would never expire (every comparison with NaN is false)."""
    problem = rejected(sign(keys, claims(**{claim: value})), keys)
    assert problem.rule == "invalid_claim" and claim in problem.description


def test_a_null_nbf_is_refused_not_ignored(keys):
    token = sign(keys, {**claims(), "nbf": None})
    assert rejected(token, keys).rule == "invalid_claim"


@pytest.mark.parametrize(
    "extra", [{"x": float("nan")}, {"x": [float("inf")]}, {"x": {"y": float("-inf")}}]
)
def test_non_json_numbers_anywhere_in_the_payload_are_malformed(keys, extra):
    assert rejected(sign(keys, claims(**extra)), keys).rule == "malformed"


def test_a_lone_surrogate_in_the_payload_is_malformed(keys):
    payload = json.dumps(claims()).replace('"alice"', '"al\\ud800ice"').encode()
    assert rejected(_signed_hs256(keys, payload), keys).rule == "malformed"


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"sub": 42}, "invalid_claim"),
        ({"exp": "tomorrow"}, "invalid_claim"),
        ({"iat": True}, "invalid_claim"),
    ],
)
def test_claims_of_the_wrong_type(keys, changes, rule):
    assert rejected(sign(keys, claims(**changes)), keys).rule == rule


def test_expiry_inside_and_outside_the_leeway(keys):
    token = sign(keys, claims())
    exp = NOW + 300
    assert verify_access_token(token, keys, POLICY, exp - 1).claims
    assert verify_access_token(token, keys, POLICY, exp + 29).claims, "inside the 30 s leeway"
    error = rejected(token, keys, now=exp + 30)
    assert error.rule == "expired" and "expired 30 s ago" in error.description


def test_not_yet_valid_inside_and_outside_the_leeway(keys):
    token = sign(keys, claims(nbf=NOW + 120))
    assert verify_access_token(token, keys, POLICY, NOW + 91).claims
    error = rejected(token, keys, now=NOW + 89)
    assert error.rule == "not_yet_valid" and "31 s from now" in error.description


def test_issued_in_the_future(keys):
    assert (
        rejected(sign(keys, claims(iat=NOW + 600, nbf=None)), keys).rule == "issued_in_the_future"
    )


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b", "a.b.c.d", "eyJ.eyJ.x", "!!!.???.###", "x" * 9000]
)
def test_malformed(keys, token):
    assert rejected(token, keys).rule == "malformed"


# --- the RFC's own examples: the signing layer accepts them, and refuses their forgeries ---

RFC_VECTORS = {
    # RFC 7515 appendix A.1 (HS256), A.2 (RS256), A.3 (ES256); RFC 8037 appendix A.4 (EdDSA).
    "HS256": (
        {
            "kty": "oct",
            "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",  # noqa: E501
        },
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    ),
    "RS256": (
        {
            "kty": "RSA",
            "e": "AQAB",
            "n": "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",  # noqa: E501
        },
        "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw",
    ),
    "ES256": (
        {
            "kty": "EC",
            "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        },
        "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
    ),
    "EdDSA": (
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
    ),
}


def _fixed_key(alg: str, jwk: dict) -> SigningKey:
    """A SigningKey whose verifying key is the RFC's published key."""
    key = SigningKey(kid="rfc", alg=alg)
    public = jwt.PyJWK(jwk, algorithm=alg).key
    if alg == "HS256":
        key._material = public
    else:  # only the public half is known: a stand-in whose public_key() is the RFC's key
        key._material = type("PublicOnly", (), {"public_key": lambda self: public})()
    return key


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_rfc_examples_verify(alg):
    _, token = RFC_VECTORS[alg]
    header, payload = verify_signature(token, _fixed_key(alg, RFC_VECTORS[alg][0]))
    assert header["alg"] == alg
    assert payload.startswith(b'{"iss":"joe"') or payload == b"Example of Ed25519 signing"


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_forged_variants_of_the_rfc_examples_are_refused(alg):
    jwk, token = RFC_VECTORS[alg]
    key = _fixed_key(alg, jwk)
    header, payload, signature = token.split(".")
    forged_payload = base64url_encode(
        b'{"iss":"joe","exp":1300819380,"http://example.com/is_root":false}'
    ).decode()
    other_alg = "HS256" if alg != "HS256" else "RS256"
    forgeries = [
        f"{header}.{forged_payload}.{signature}",  # payload changed, signature kept
        f"{header}.{payload}.{signature[:-4]}AAAA",  # signature changed
        f"{header}.{payload}.",  # signature removed
        raw({"alg": "none"}, {"iss": "joe"}),  # unsigned
        raw({"alg": other_alg}, {"iss": "joe"}, b"x" * 32),  # another algorithm
    ]
    for forged in forgeries:
        with pytest.raises(jwt.InvalidTokenError):
            verify_signature(forged, key)


# --- over HTTP ---


def get_token(lab, user="alice", **body):
    response = lab.http.post(
        "/oauth/token", json={"username": user, "password": PASSWORDS[user], **body}
    )
    assert response.status_code == 200, response.text
    return response


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_token_endpoint_answers_like_oauth(lab):
    response = get_token(lab)
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert response.headers["Cache-Control"] == "no-store"
    header = jwt.get_unverified_header(body["access_token"])
    assert header == {"alg": "ES256", "kid": "es256-1", "typ": "at+jwt"}
    payload = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert set(payload) == {
        "iss",
        "sub",
        "aud",
        "iat",
        "nbf",
        "exp",
        "jti",
        "client_id",
        "roles",
        "token_version",
    }
    assert payload["sub"] == "alice" and isinstance(payload["sub"], str)
    assert payload["exp"] - payload["iat"] == 300 and payload["iat"] == int(lab.clock.now())


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_api_accepts_each_algorithm_and_reads_no_store(lab, alg):
    token = get_token(lab, alg=alg).json()["access_token"]
    response = lab.http.get("/api/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["verified_with"]["alg"] == alg
    assert response.json()["trusted_claims"]["aud"] == AUD
    assert lab.request_log.last()[0].store_round_trips == 0


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"username": "alice", "password": "nope"}, 401, "invalid_credentials"),
        (
            {"username": "alice", "password": PASSWORDS["alice"], "alg": "none"},
            400,
            "invalid_request",
        ),
        (
            {"username": "alice", "password": PASSWORDS["alice"], "alg": "HS512"},
            400,
            "invalid_request",
        ),
    ],
)
def test_token_endpoint_refusals(lab, body, status, error):
    response = lab.http.post("/oauth/token", json=body)
    assert (response.status_code, response.json()["error"]) == (status, error)


def test_rejections_carry_the_rfc6750_challenge(lab):
    token = get_token(lab).json()["access_token"]
    lab.clock.advance(300 + 30)
    response = lab.http.get("/api/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(
        'Bearer realm="jwt-lab", error="invalid_token", error_description="expired: '
    )


def test_bearer_without_a_token_is_a_bad_request(lab):
    response = lab.http.get("/api/me", headers={"Authorization": "Bearer"})
    assert (
        response.status_code == 400
        and 'error="invalid_request"' in response.headers["WWW-Authenticate"]
    )


def test_api_wants_a_bearer_token_not_another_credential(lab):
    response = lab.http.get("/api/me", auth=("alice", PASSWORDS["alice"]))
    assert response.status_code == 401 and "bearer token" in response.json()["error_description"]


def test_jwks_publishes_public_keys_only(lab):
    jwks = lab.http.get("/.well-known/jwks.json").json()
    assert {k["kid"] for k in jwks["keys"]} == {"rs256-1", "es256-1", "eddsa-1"}
    for jwk in jwks["keys"]:
        assert "d" not in jwk and jwk["use"] == "sig"
        assert jwt.PyJWK(jwk).key is not None


def test_rotation_keeps_old_tokens_until_their_key_is_retired(lab):
    admin = ("admin", PASSWORDS["admin"])
    old = get_token(lab).json()["access_token"]
    rotated = lab.http.post("/admin/keys/rotate", json={"alg": "ES256"}, auth=admin).json()
    assert rotated["kid"] == "es256-2"
    new = get_token(lab).json()["access_token"]
    assert jwt.get_unverified_header(new)["kid"] == "es256-2"
    kids = {k["kid"] for k in lab.http.get("/.well-known/jwks.json").json()["keys"]}
    assert {"es256-1", "es256-2"} <= kids
    assert lab.http.get("/api/me", headers=bearer(old)).status_code == 200, (
        "old key still published"
    )
    assert lab.http.delete("/admin/keys/es256-2", auth=admin).status_code == 400, (
        "the current key stays"
    )
    assert lab.http.delete("/admin/keys/es256-1", auth=admin).status_code == 200
    refused = lab.http.get("/api/me", headers=bearer(old))
    assert (
        refused.status_code == 401
        and "unknown key: kid 'es256-1'" in refused.json()["error_description"]
    )
    assert lab.http.get("/api/me", headers=bearer(new)).status_code == 200


def test_key_admin_needs_the_admin_role(lab):
    assert (
        lab.http.post(
            "/admin/keys/rotate", json={"alg": "ES256"}, auth=("bob", PASSWORDS["bob"])
        ).status_code
        == 403
    )


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    token=st.one_of(
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300),
        st.builds(
            lambda a, b, c: f"{a}.{b}.{c}",
            st.text("eyJABCabc123-_=", max_size=60),
            st.text("eyJABCabc123-_=", max_size=60),
            st.text("abcXYZ-_", max_size=40),
        ),
    )
)
def test_garbage_bearer_tokens_are_refused_never_crash(client, token):
    response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (400, 401)
    assert response.get_json()["error"] in (
        "invalid_token",
        "invalid_request",
        "authentication_required",
    )


def _signed_hs256(keys, raw_payload: bytes) -> str:
    """A token over ``raw_payload`` exactly as given, signed with the lab's own HS256 key."""
    key = keys.current("HS256")
    header = base64url_encode(
        json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": key.kid}).encode()
    )
    signing_input = header + b"." + base64url_encode(raw_payload)
    signature = hmac.new(key.signing_key, signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode()}.{base64url_encode(signature).decode()}"


@pytest.mark.parametrize(
    "raw_payload",
    [
        json.dumps(claims())[:-1].encode()
        + b', "sub": "admin"}',  # which sub wins depends on the parser
        json.dumps(claims()).encode("utf-16"),
    ],
    ids=["a repeated key", "UTF-16"],
)
def test_a_signed_payload_must_be_strict_json(keys, raw_payload):
    assert rejected(_signed_hs256(keys, raw_payload), keys).rule == "malformed"
