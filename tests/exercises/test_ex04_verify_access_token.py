"""Checks for exercise 04: ``verify_access_token``, against real and forged tokens.

The tokens are made relative to the wall clock (PyJWT checks exp and nbf against it), in the
past or the future as each check needs: no test waits.
"""

import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.utils import base64url_encode

ISS, AUD = "https://issuer.jwt-lab.test", "https://api.jwt-lab.test"


@pytest.fixture(scope="module")
def ring():
    """Private keys by kid, and the public key set a verifier gets."""
    private = {
        "es256-1": ("ES256", ec.generate_private_key(ec.SECP256R1())),
        "eddsa-1": ("EdDSA", ed25519.Ed25519PrivateKey.generate()),
        "rs256-1": ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "hs256-1": ("HS256", b"s" * 32),
    }
    public = {
        kid: (alg, key if alg == "HS256" else key.public_key())
        for kid, (alg, key) in private.items()
    }
    return private, public


def make(ring, kid="es256-1", header=None, **changes):
    private, _ = ring
    alg, key = private[kid]
    now = int(time.time())
    claims = {
        "iss": ISS,
        "aud": AUD,
        "sub": "alice",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        **changes,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(
        claims, key, algorithm=alg, headers={"kid": kid, "typ": "at+jwt", **(header or {})}
    )


def verify(impl, ring, token):
    return impl.verify_access_token(token, ring[1], issuer=ISS, audience=AUD, leeway=30)


def refuses(impl, ring, token, hint, error=jwt.InvalidTokenError):
    """The token must be refused with ``error`` (or a subclass); otherwise fail with ``hint``,
    showing what came back ("accepted", or what was raised) against what was expected."""
    try:
        verify(impl, ring, token)
        came_back = "accepted"
    except NotImplementedError:
        raise
    except error:
        return
    except Exception as exc:  # noqa: BLE001
        came_back = type(exc).__name__
    assert came_back == error.__name__, hint


@pytest.mark.parametrize("kid", ["es256-1", "eddsa-1", "rs256-1", "hs256-1"])
def test_a_good_token_gives_its_claims(impl, ring, kid):
    """A correct token is accepted and its claims returned (every algorithm)."""
    claims = verify(impl, ring, make(ring, kid))
    assert isinstance(claims, dict) and claims.get("sub") == "alice", (
        "return the claims jwt.decode gives you, for every key in keys"
    )


def test_alg_none_is_refused(impl, ring):
    """An unsigned token (alg: none, any spelling) is refused."""
    _, public = ring
    now = int(time.time())
    body = {
        "iss": ISS,
        "aud": AUD,
        "sub": "alice",
        "iat": now,
        "exp": now + 300,
        "roles": ["admin"],
    }
    part = lambda obj: base64url_encode(json.dumps(obj).encode()).decode()  # noqa: E731
    for spelling in ("none", "None", "NONE"):
        token = f"{part({'alg': spelling, 'kid': 'es256-1', 'typ': 'at+jwt'})}.{part(body)}."
        refuses(
            impl,
            ring,
            token,
            "never let the header choose the algorithm: algorithms=[the key's own alg]",
        )


def test_hs256_under_an_rsa_kid_is_refused(impl, ring):
    """Algorithm confusion: an HS256 token 'signed' with the RSA public key is refused."""
    private, _ = ring
    pem = (
        private["rs256-1"][1]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    part = lambda obj: base64url_encode(json.dumps(obj).encode()).decode()  # noqa: E731
    now = int(time.time())
    signing_input = f"{part({'alg': 'HS256', 'kid': 'rs256-1', 'typ': 'at+jwt'})}." + part(
        {"iss": ISS, "aud": AUD, "sub": "mallory", "iat": now, "exp": now + 300}
    )
    token = (
        signing_input
        + "."
        + base64url_encode(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()).decode()
    )
    refuses(
        impl, ring, token, "the algorithm must come from keys[kid] (RS256 here), never the header"
    )


@pytest.mark.filterwarnings("ignore:The HMAC key is 32 bytes long")  # the attacker's HS384 token
@pytest.mark.parametrize(
    ("kid", "alg"), [("rs256-1", "PS256"), ("hs256-1", "HS384"), ("es256-1", "ES384")]
)
def test_another_algorithm_under_a_known_kid_is_refused(impl, ring, kid, alg):
    """A validly signed token whose alg is not its key's own algorithm is refused."""
    private, _ = ring
    key = private[kid][1]
    if alg == "ES384":  # an ES384 signature needs a P-384 key: the attacker's own, under our kid
        key = ec.generate_private_key(ec.SECP384R1())
    now = int(time.time())
    token = jwt.encode(
        {"iss": ISS, "aud": AUD, "sub": "alice", "iat": now, "exp": now + 300},
        key,
        algorithm=alg,
        headers={"kid": kid, "typ": "at+jwt"},
    )
    refuses(
        impl,
        ring,
        token,
        f"the key {kid} is for {private[kid][0]} only: pass algorithms=[that alg]",
        jwt.InvalidAlgorithmError,
    )


@pytest.mark.parametrize("typ", ["JWT", None])
def test_a_token_that_is_not_an_access_token_is_refused(impl, ring, typ):
    """A token whose typ is not at+jwt is refused (an ID token is not an access token)."""
    private, _ = ring
    now = int(time.time())
    header = {"kid": "es256-1", "typ": typ}
    token = jwt.encode(
        {"iss": ISS, "aud": AUD, "sub": "alice", "iat": now, "exp": now + 300},
        private["es256-1"][1],
        algorithm="ES256",
        headers=header,
    )
    refuses(
        impl, ring, token, "check jwt.get_unverified_header(token)['typ'] yourself: PyJWT does not"
    )


def test_unknown_kid_is_refused(impl, ring):
    """A token naming a kid that is not in keys is refused."""
    refuses(
        impl,
        ring,
        make(ring, header={"kid": "es256-99"}),
        "a kid missing from keys: raise jwt.InvalidTokenError yourself",
    )


def test_missing_kid_is_refused(impl, ring):
    """A token with no kid is refused."""
    private, _ = ring
    token = jwt.encode(
        {
            "sub": "alice",
            "iss": ISS,
            "aud": AUD,
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
        },
        private["es256-1"][1],
        algorithm="ES256",
        headers={"typ": "at+jwt"},
    )
    refuses(impl, ring, token, "no kid, no key: raise jwt.InvalidTokenError")


def test_tampered_payload_is_refused(impl, ring):
    """A payload changed after signing is refused."""
    header, _, signature = make(ring).split(".")
    payload = base64url_encode(
        json.dumps({"iss": ISS, "aud": AUD, "sub": "mallory", "iat": 1, "exp": 2**33}).encode()
    ).decode()
    refuses(
        impl,
        ring,
        f"{header}.{payload}.{signature}",
        "verify the signature (jwt.decode with the key)",
        jwt.InvalidSignatureError,
    )


def test_token_from_another_key_is_refused(impl, ring):
    """A token signed by a key the verifier does not have (under a known kid) is refused."""
    other = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    token = jwt.encode(
        {"iss": ISS, "aud": AUD, "sub": "alice", "iat": now, "exp": now + 300},
        other,
        algorithm="ES256",
        headers={"kid": "es256-1", "typ": "at+jwt"},
    )
    refuses(impl, ring, token, "verify with the key from keys[kid]", jwt.InvalidSignatureError)


@pytest.mark.parametrize("claim", ["exp", "iat", "sub"])
def test_required_claims(impl, ring, claim):
    """exp, iat and sub are required."""
    refuses(
        impl,
        ring,
        make(ring, **{claim: None}),
        "jwt.decode(..., options={'require': ['exp', 'iat', 'sub']})",
        jwt.MissingRequiredClaimError,
    )


def test_an_empty_sub_is_refused(impl, ring):
    """A token whose sub is the empty string is refused: it names no one."""
    refuses(
        impl,
        ring,
        make(ring, sub=""),
        "PyJWT's require only checks that sub is there: an empty sub is yours to refuse",
    )


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_a_time_that_is_not_a_finite_number_is_refused(impl, ring, claim):
    """exp, nbf or iat of NaN or Infinity is refused (such an exp would never expire)."""
    for value in (float("nan"), float("inf")):
        refuses(
            impl,
            ring,
            make(ring, **{claim: value}),
            f"{claim} must be a finite number of seconds: leave PyJWT's own time checks on",
        )


def test_wrong_issuer_is_refused(impl, ring):
    """A token from another issuer is refused."""
    refuses(
        impl,
        ring,
        make(ring, iss="https://evil.test"),
        "pass issuer=issuer to jwt.decode",
        jwt.InvalidIssuerError,
    )


def test_wrong_audience_is_refused(impl, ring):
    """A token for another API (aud) is refused."""
    refuses(
        impl,
        ring,
        make(ring, aud="https://other-api.test"),
        "pass audience=audience to jwt.decode",
        jwt.InvalidAudienceError,
    )


def test_expired_outside_the_leeway_is_refused(impl, ring):
    """A token that expired 35 s ago is refused (the leeway is 30 s)."""
    now = int(time.time())
    refuses(
        impl,
        ring,
        make(ring, iat=now - 400, nbf=now - 400, exp=now - 35),
        "jwt.decode checks exp itself; pass leeway=leeway, not more",
        jwt.ExpiredSignatureError,
    )


def test_expired_inside_the_leeway_is_accepted(impl, ring):
    """A token that expired 10 s ago passes: that is what the 30 s leeway is for."""
    now = int(time.time())
    claims = verify(impl, ring, make(ring, iat=now - 300, nbf=now - 300, exp=now - 10))
    assert claims["sub"] == "alice", "pass leeway=leeway to jwt.decode"


def test_not_yet_valid_is_refused(impl, ring):
    """A token whose nbf is 5 minutes ahead is refused."""
    now = int(time.time())
    refuses(
        impl,
        ring,
        make(ring, nbf=now + 300, exp=now + 600),
        "jwt.decode checks nbf itself",
        jwt.ImmatureSignatureError,
    )
