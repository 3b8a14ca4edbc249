"""Checks for exercise 11: the fixed verifier refuses what the hurried one let through."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

AUD = "https://api.jwt-lab.test"


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def token(key, **changes):
    now = int(time.time())
    claims = {"sub": "alice", "aud": AUD, "iat": now, "exp": now + 300, **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="ES256")


def refuses(impl, token, key, hint, alg="ES256", **options):
    """``verify`` must raise an InvalidTokenError; otherwise fail with ``hint``, showing what came
    back ("accepted", or what was raised)."""
    try:
        impl.verify(token, key, alg, audience=AUD, **options)
        came_back = "accepted"
    except jwt.InvalidTokenError:
        return
    except Exception as exc:  # noqa: BLE001
        came_back = type(exc).__name__
    assert came_back == "InvalidTokenError", hint


def test_a_good_token_passes(impl, key):
    """A correct token is accepted (the fix must keep that)."""
    assert impl.verify(token(key), key.public_key(), "ES256", audience=AUD)["sub"] == "alice"


def test_every_kind_of_key_still_works(impl):
    """Good tokens pass for every kind of key the caller may hand in (RS256, EdDSA, HS256)."""
    keys = {
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "EdDSA": ed25519.Ed25519PrivateKey.generate(),
        "HS256": b"a secret of 32 bytes, or more....",
    }
    for alg, private in keys.items():
        now = int(time.time())
        good = jwt.encode(
            {"sub": "alice", "aud": AUD, "iat": now, "exp": now + 300}, private, algorithm=alg
        )
        public = private if alg == "HS256" else private.public_key()
        try:
            came_back = impl.verify(good, public, alg, audience=AUD).get("sub")
        except jwt.InvalidTokenError as exc:
            came_back = type(exc).__name__
        assert came_back == "alice", (
            f"a good {alg} token must pass: the algorithm is the caller's, do not pin one"
        )


def test_only_the_keys_algorithm_is_allowed(impl, key):
    """A token signed with another algorithm than the key's is refused."""
    forged = jwt.encode(
        {"sub": "mallory", "aud": AUD, "exp": int(time.time()) + 300},
        b"any secret at all, 32 bytes long",
        algorithm="HS256",
    )
    refuses(
        impl,
        forged,
        b"any secret at all, 32 bytes long",
        "the caller knows the key's algorithm; the token's header is the attacker's",
        alg="ES256",
    )


def test_the_audience_is_checked(impl, key):
    """A token for another API is refused."""
    refuses(
        impl,
        token(key, aud="https://other-api.test"),
        key.public_key(),
        "the audience is what keeps other APIs' tokens out: PyJWT checks it unless told not to",
    )


def test_the_leeway_is_seconds(impl, key):
    """A token expired 10 minutes ago is refused (the leeway is 30 seconds)."""
    now = int(time.time())
    refuses(
        impl,
        token(key, iat=now - 900, exp=now - 600),
        key.public_key(),
        "PyJWT's leeway is in seconds, and so is this verifier's: pass it on unchanged",
    )


def test_expired_just_outside_the_leeway_is_refused(impl, key):
    """A token expired 35 s ago is refused (30 s of leeway, not a second more)."""
    now = int(time.time())
    refuses(
        impl,
        token(key, iat=now - 400, exp=now - 35),
        key.public_key(),
        "the leeway is exactly leeway seconds: pass it on unchanged",
    )


def test_expired_inside_the_leeway_passes(impl, key):
    """A token expired 10 s ago passes: the 30 s leeway is for clocks that differ a little."""
    now = int(time.time())
    try:
        came_back = impl.verify(
            token(key, iat=now - 300, exp=now - 10), key.public_key(), "ES256", audience=AUD
        ).get("sub")
    except jwt.InvalidTokenError as exc:
        came_back = type(exc).__name__
    assert came_back == "alice", (
        "keep the leeway: without it, a clock a few seconds ahead locks users out"
    )


def test_the_callers_leeway_is_used(impl, key):
    """With leeway=120, a token expired 60 s ago passes and one expired 125 s ago is refused."""
    now = int(time.time())
    try:
        came_back = impl.verify(
            token(key, iat=now - 400, exp=now - 60),
            key.public_key(),
            "ES256",
            audience=AUD,
            leeway=120,
        ).get("sub")
    except jwt.InvalidTokenError as exc:
        came_back = type(exc).__name__
    assert came_back == "alice", "use the leeway the caller passes, not a number of your own"
    refuses(
        impl,
        token(key, iat=now - 400, exp=now - 125),
        key.public_key(),
        "use the leeway the caller passes, unchanged",
        leeway=120,
    )


def test_exp_is_required(impl, key):
    """A token without exp is refused: it would never expire."""
    refuses(
        impl, token(key, exp=None), key.public_key(), "a token without exp would be valid forever"
    )


def test_sub_is_still_required(impl, key):
    """A token without sub is still refused."""
    refuses(
        impl,
        token(key, sub=None),
        key.public_key(),
        "a token without sub names no one: keep it required",
    )
