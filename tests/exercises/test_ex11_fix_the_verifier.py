"""Checks for exercise 11: the fixed verifier refuses what the hurried one let through."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

AUD = "https://api.jwt-lab.test"


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def token(key, **changes):
    now = int(time.time())
    claims = {"sub": "alice", "aud": AUD, "iat": now, "exp": now + 300, **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="ES256")


def refuses(impl, token, key, hint, alg="ES256"):
    try:
        impl.verify(token, key, alg, audience=AUD)
    except jwt.InvalidTokenError:
        return
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"{hint} (it raised {type(exc).__name__}, not an InvalidTokenError)") from None
    raise AssertionError(f"{hint} (the token was accepted)")


def test_a_good_token_passes(impl, key):
    """A correct token is accepted (the fix must keep that)."""
    assert impl.verify(token(key), key.public_key(), "ES256", audience=AUD)["sub"] == "alice"


def test_only_the_keys_algorithm_is_allowed(impl, key):
    """A token signed with another algorithm than the key's is refused."""
    forged = jwt.encode({"sub": "mallory", "aud": AUD, "exp": int(time.time()) + 300},
                        b"any secret at all, 32 bytes long", algorithm="HS256")
    refuses(impl, forged, b"any secret at all, 32 bytes long",
            "algorithms=[alg]: the caller knows the key's algorithm; the header is the attacker's", alg="ES256")


def test_the_audience_is_checked(impl, key):
    """A token for another API is refused."""
    refuses(impl, token(key, aud="https://other-api.test"), key.public_key(),
            "do not switch verify_aud off: the audience is what keeps other APIs' tokens out")


def test_the_leeway_is_seconds(impl, key):
    """A token expired 10 minutes ago is refused (the leeway is 30 seconds)."""
    now = int(time.time())
    refuses(impl, token(key, iat=now - 900, exp=now - 600), key.public_key(),
            "leeway is in seconds: leeway * 60 turns 30 s into 30 min")


def test_exp_is_required(impl, key):
    """A token without exp is refused: it would never expire."""
    refuses(impl, token(key, exp=None), key.public_key(), "require exp as well as sub")


def test_sub_is_still_required(impl, key):
    """A token without sub is still refused."""
    refuses(impl, token(key, sub=None), key.public_key(), "keep sub in the required claims")
