"""Checks for exercise 05: ``key_for_token`` picks the verifying key from a JWKS by kid."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm


@pytest.fixture(scope="module")
def provider():
    """An identity provider's private keys, and the JWKS it publishes."""
    private = {
        "es256-1": ("ES256", ec.generate_private_key(ec.SECP256R1()), ECAlgorithm),
        "es256-2": ("ES256", ec.generate_private_key(ec.SECP256R1()), ECAlgorithm),
        "eddsa-1": ("EdDSA", ed25519.Ed25519PrivateKey.generate(), OKPAlgorithm),
        "rs256-1": (
            "RS256",
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            RSAAlgorithm,
        ),
    }
    jwks = {
        "keys": [
            {
                **exporter.to_jwk(key.public_key(), as_dict=True),
                "kid": kid,
                "alg": alg,
                "use": "sig",
            }
            for kid, (alg, key, exporter) in private.items()
        ]
    }
    return private, jwks


def token(provider, kid, header=None):
    private, _ = provider
    alg, key, _ = private[kid]
    return jwt.encode(
        {"sub": "alice", "exp": int(time.time()) + 60},
        key,
        algorithm=alg,
        headers={"kid": kid, **(header or {})},
    )


@pytest.mark.parametrize("kid", ["es256-1", "es256-2", "eddsa-1", "rs256-1"])
def test_the_key_with_the_tokens_kid_verifies_it(impl, provider, kid):
    """The key found for a token's kid verifies that token (EC, OKP and RSA keys)."""
    t = token(provider, kid)
    result = impl.key_for_token(t, provider[1])
    assert isinstance(result, tuple) and len(result) == 2, "return a pair (alg, key)"
    alg, key = result
    assert alg == provider[0][kid][0], "the algorithm is the JWK's: jwt.PyJWK(jwk).algorithm_name"
    assert jwt.decode(t, key, algorithms=[alg])["sub"] == "alice", "return jwt.PyJWK(jwk).key"


def test_two_keys_of_one_algorithm_are_told_apart(impl, provider):
    """Two ES256 keys: the kid decides which one."""
    t = token(provider, "es256-2")
    _, key = impl.key_for_token(t, provider[1])
    assert jwt.decode(t, key, algorithms=["ES256"])["sub"] == "alice", (
        "match on kid, not on the first key of the right algorithm"
    )


def test_unknown_kid_is_refused(impl, provider):
    """A kid that is not in the set is refused."""
    with pytest.raises(jwt.InvalidTokenError):
        impl.key_for_token(token(provider, "es256-1", {"kid": "es256-9"}), provider[1])


def test_missing_kid_is_refused(impl, provider):
    """A token without a kid is refused (no guessing a key)."""
    private, jwks = provider
    t = jwt.encode({"sub": "alice"}, private["es256-1"][1], algorithm="ES256")
    with pytest.raises(jwt.InvalidTokenError):
        impl.key_for_token(t, jwks)


@pytest.mark.parametrize("header_alg", ["HS256", "PS256"])
def test_the_algorithm_comes_from_the_key_not_the_header(impl, provider, header_alg):
    """Whatever alg the header claims under an RSA kid, the answer is RS256 (from the JWK)."""
    private, jwks = provider
    key = b"k" * 32 if header_alg == "HS256" else private["rs256-1"][1]
    forged = jwt.encode({"sub": "mallory"}, key, algorithm=header_alg, headers={"kid": "rs256-1"})
    alg, _ = impl.key_for_token(forged, jwks)
    assert alg == "RS256", "never take the algorithm from the token's header: it is the attacker's"


def test_a_key_without_use_is_a_signing_key(impl, provider):
    """A JWK without "use" can verify (use is optional in RFC 7517)."""
    _, jwks = provider
    no_use = {"keys": [{k: v for k, v in jwk.items() if k != "use"} for jwk in jwks["keys"]]}
    alg, _ = impl.key_for_token(token(provider, "eddsa-1"), no_use)
    assert alg == "EdDSA", "accept a JWK whose use is absent, as well as one whose use is 'sig'"


def test_encryption_keys_are_not_used_to_verify(impl, provider):
    """A JWK marked "use": "enc" is not a signing key."""
    _, jwks = provider
    only_enc = {"keys": [{**jwks["keys"][0], "use": "enc"}]}
    with pytest.raises(jwt.InvalidTokenError):
        impl.key_for_token(token(provider, "es256-1"), only_enc)
