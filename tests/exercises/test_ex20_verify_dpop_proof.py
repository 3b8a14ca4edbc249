"""Checks for exercise 20: ``verify_dpop_proof``, against good, forged, stale and replayed proofs.

Time is the frozen lab clock's (``clock``), which stands in the future of the wall clock: a
verifier that lets PyJWT compare ``iat`` with the wall clock fails here, as it would in a lab
whose clock a notebook has moved on.
"""

import hashlib
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.utils import base64url_encode

URL = "https://orders.jwt-lab.test/orders"
TOKEN = "eyJhbGciOiJFUzI1NiJ9.the-access-token.signature"

# RFC 9449 figure 13: a proof for a resource request, its access token and its key's thumbprint.
RFC_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjN"
    "oUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VE"
    "RWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwi"
    "aHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjY"
    "xOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP"
    "86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA"
)
RFC_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
RFC_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"


@pytest.fixture(scope="module")
def keys():
    """The client's key pairs, by algorithm, and a thief's key."""
    return {
        "ES256": (ec.generate_private_key(ec.SECP256R1()), ECAlgorithm),
        "EdDSA": (ed25519.Ed25519PrivateKey.generate(), OKPAlgorithm),
        "PS256": (rsa.generate_private_key(public_exponent=65537, key_size=2048), RSAAlgorithm),
        "thief": (ec.generate_private_key(ec.SECP256R1()), ECAlgorithm),
    }


def b64(data: bytes) -> str:
    return base64url_encode(data).decode()


def ath(token: str) -> str:
    return b64(hashlib.sha256(token.encode()).digest())


def public_jwk(keys, alg="ES256"):
    key, exporter = keys[alg]
    return exporter.to_jwk(key.public_key(), as_dict=True)


def make(keys, clock, alg="ES256", *, signer=None, jwk=None, header=None, **changes):
    """A proof for GET URL made now with ``keys[alg]``; ``changes`` to the claims (None drops
    one), ``header`` to the header, ``jwk`` in the header, ``signer`` the key that signs."""
    key = keys[signer or alg][0]
    claims = {
        "jti": "proof-1",
        "htm": "GET",
        "htu": URL,
        "iat": int(clock.now()),
        "ath": ath(TOKEN),
        **changes,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    fields = {"typ": "dpop+jwt", "jwk": public_jwk(keys, alg) if jwk is None else jwk}
    signing_alg = "ES256" if signer == "thief" else alg
    return jwt.encode(claims, key, algorithm=signing_alg, headers={**fields, **(header or {})})


def unsigned(header, claims):
    part = lambda obj: b64(json.dumps(obj).encode())  # noqa: E731
    return f"{part(header)}.{part(claims)}."


def verify(impl, proof, clock, seen=None, **options):
    arguments = {"method": "GET", "url": URL, "now": clock.now(), "access_token": TOKEN}
    seen = set() if seen is None else seen
    return impl.verify_dpop_proof(proof, seen_jtis=seen, **{**arguments, **options})


def refuses(impl, proof, clock, hint, seen=None, **options):
    """The proof must be refused with ``jwt.InvalidTokenError`` (or a subclass); otherwise fail
    with ``hint``, showing what came back ("accepted", or what was raised)."""
    try:
        verify(impl, proof, clock, seen, **options)
        came_back = "accepted"
    except NotImplementedError:
        raise
    except jwt.InvalidTokenError:
        return
    except Exception as exc:  # noqa: BLE001
        came_back = type(exc).__name__
    assert came_back == "InvalidTokenError", hint


def thumbprint(jwk, members):
    text = json.dumps({m: jwk[m] for m in members}, sort_keys=True, separators=(",", ":"))
    return b64(hashlib.sha256(text.encode()).digest())


@pytest.mark.parametrize(
    ("alg", "members"),
    [
        ("ES256", ("crv", "kty", "x", "y")),
        ("EdDSA", ("crv", "kty", "x")),
        ("PS256", ("e", "kty", "n")),
    ],
)
def test_a_good_proof_gives_its_keys_thumbprint(impl, keys, clock, alg, members):
    """A good proof (EC, OKP and RSA keys) is accepted; the answer is its key's thumbprint."""
    seen = set()
    result = verify(impl, make(keys, clock, alg), clock, seen)
    assert result == thumbprint(public_jwk(keys, alg), members), (
        "return the RFC 7638 thumbprint: only THUMBPRINT_MEMBERS[kty], sorted, no spaces, "
        "SHA-256, base64url without padding"
    )
    assert seen == {"proof-1"}, "add the accepted proof's jti to seen_jtis"


def test_the_rfc_example_gives_the_rfc_thumbprint(impl):
    """RFC 9449's own example proof is accepted, and its thumbprint is the RFC's jkt."""

    class Then:  # the example's time
        @staticmethod
        def now():
            return 1562262618

    result = verify(
        impl,
        RFC_PROOF,
        Then,
        url="https://resource.example.org/protectedresource",
        access_token=RFC_TOKEN,
    )
    assert result == RFC_JKT, "the thumbprint hashes the required members only, sorted"


@pytest.mark.parametrize("typ", [None, "JWT", "at+jwt"])
def test_typ_must_be_dpop_jwt(impl, keys, clock, typ):
    """A JWT that is not typed as a DPoP proof (no typ, JWT, at+jwt) is refused."""
    proof = make(keys, clock, header={"typ": typ})  # PyJWT leaves out a typ of None
    assert jwt.get_unverified_header(proof).get("typ") == typ
    refuses(impl, proof, clock, "check the header's typ: exactly 'dpop+jwt'")


def test_alg_none_is_refused(impl, keys, clock):
    """An unsigned proof (alg none) is refused."""
    claims = jwt.decode(make(keys, clock), options={"verify_signature": False})
    for spelling in ("none", "None"):
        proof = unsigned({"typ": "dpop+jwt", "alg": spelling, "jwk": public_jwk(keys)}, claims)
        refuses(
            impl,
            proof,
            clock,
            "only the algorithms in ALGORITHMS: an unsigned proof proves nothing",
        )


def test_a_proof_signed_with_a_shared_secret_is_refused(impl, keys, clock):
    """An HS256 'proof' keyed with public data (the jwk's x) is refused."""
    jwk = public_jwk(keys)
    claims = jwt.decode(make(keys, clock), options={"verify_signature": False})
    proof = jwt.encode(
        claims, jwk["x"].encode(), algorithm="HS256", headers={"typ": "dpop+jwt", "jwk": jwk}
    )
    refuses(impl, proof, clock, "HS256 is not in ALGORITHMS: a shared secret is no key pair")


def test_a_proof_without_a_jwk_is_refused(impl, keys, clock):
    """A proof whose header carries no jwk (only a kid) is refused."""
    proof = jwt.encode(
        {"jti": "proof-1", "htm": "GET", "htu": URL, "iat": int(clock.now()), "ath": ath(TOKEN)},
        keys["ES256"][0],
        algorithm="ES256",
        headers={"typ": "dpop+jwt", "kid": "client-key"},
    )
    refuses(impl, proof, clock, "the key is the header's jwk, and it must be there")


def test_a_jwk_holding_the_private_key_is_refused(impl, keys, clock):
    """A jwk with the private part ("d") is refused, though the signature verifies with it."""
    private_jwk = ECAlgorithm.to_jwk(keys["ES256"][0], as_dict=True)
    refuses(
        impl,
        make(keys, clock, jwk=private_jwk),
        clock,
        "refuse a jwk holding any of PRIVATE_MEMBERS: a proof carries the public key only",
    )


def test_a_jwk_that_is_no_key_is_refused_as_an_invalid_token(impl, keys, clock):
    """A jwk that is not a usable key is an InvalidTokenError, not PyJWT's key error."""
    jwk = {**public_jwk(keys), "y": public_jwk(keys)["x"]}  # not a point on the curve
    refuses(
        impl,
        make(keys, clock, jwk=jwk, signer="ES256"),
        clock,
        "jwt.PyJWK raises PyJWKError/InvalidKeyError for a bad jwk: turn it into InvalidTokenError",
    )


def test_the_signature_must_verify_with_the_headers_own_key(impl, keys, clock):
    """The thief's proof: the client's public key in the header, signed with the thief's key."""
    refuses(
        impl,
        make(keys, clock, jwk=public_jwk(keys), signer="thief"),
        clock,
        "verify the signature with the header's jwk (jwt.PyJWK(jwk, algorithm=alg).key)",
    )


def test_a_proof_changed_after_signing_is_refused(impl, keys, clock):
    """A proof whose claims were edited after signing is refused."""
    header, _, signature = make(keys, clock).split(".")
    claims = jwt.decode(make(keys, clock), options={"verify_signature": False})
    edited = b64(json.dumps({**claims, "htm": "DELETE"}).encode())
    refuses(impl, f"{header}.{edited}.{signature}", clock, "verify the signature", method="DELETE")


def test_another_algorithm_for_the_key_is_refused(impl, keys, clock):
    """An EC key under alg PS256 (an algorithm for another key type) is refused."""
    proof = make(keys, clock)
    header, payload, signature = proof.split(".")
    header = b64(json.dumps({"typ": "dpop+jwt", "alg": "PS256", "jwk": public_jwk(keys)}).encode())
    refuses(impl, f"{header}.{payload}.{signature}", clock, "verify with that alg only")


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat"])
def test_each_claim_is_required(impl, keys, clock, claim):
    """A proof without jti, htm, htu or iat is refused."""
    refuses(
        impl,
        make(keys, clock, **{claim: None}),
        clock,
        "require jti, htm, htu, iat and ath: options={'require': [...]}",
    )


@pytest.mark.parametrize("method", ["POST", "get"])
def test_htm_must_be_this_requests_method(impl, keys, clock, method):
    """A proof for another method (POST, or 'get' in lower case) is refused for a GET."""
    refuses(
        impl,
        make(keys, clock, htm=method),
        clock,
        "htm must equal the request's method exactly: a proof binds one request",
    )


@pytest.mark.parametrize(
    "htu",
    [
        "https://orders.jwt-lab.test/admin",
        "https://billing.jwt-lab.test/orders",
        "http://orders.jwt-lab.test/orders",
    ],
)
def test_htu_must_be_this_requests_url(impl, keys, clock, htu):
    """A proof for another URL (path, host or scheme) is refused."""
    refuses(
        impl,
        make(keys, clock, htu=htu),
        clock,
        "htu must be the request's URL: a proof binds one request",
    )


def test_a_proof_for_a_url_is_not_good_for_the_urls_below_it(impl, keys, clock):
    """A proof for /orders is refused at /orders/42/cancel: the URL must match, not start with."""
    refuses(
        impl,
        make(keys, clock),
        clock,
        "compare the whole URL (without query): a prefix is another URL",
        url=URL + "/42/cancel",
    )


def test_the_query_is_not_part_of_htu(impl, keys, clock):
    """A proof for /orders is good for /orders?page=2: htu has no query (nor fragment)."""
    result = verify(impl, make(keys, clock), clock, url=URL + "?page=2#top")
    assert isinstance(result, str), (
        "compare htu with the URL without its query and fragment (urlsplit: scheme, netloc, path)"
    )


@pytest.mark.parametrize("age", [60, -60])
def test_a_proof_within_60_seconds_is_accepted(impl, keys, clock, age):
    """A proof made 60 s ago, or 60 s ahead of this server's clock, is still accepted."""
    proof = make(keys, clock, iat=int(clock.now()) - age)
    assert isinstance(verify(impl, proof, clock), str), (
        "compare iat with now (not the wall clock: options={'verify_iat': False}), within "
        "MAX_AGE inclusive"
    )


@pytest.mark.parametrize("age", [61, -61, 3600])
def test_a_proof_outside_60_seconds_is_refused(impl, keys, clock, age):
    """A proof made 61 s ago, an hour ago, or 61 s ahead, is refused."""
    refuses(
        impl,
        make(keys, clock, iat=int(clock.now()) - age),
        clock,
        "iat must be within MAX_AGE seconds of now, before or after",
    )


@pytest.mark.parametrize("iat", [float("nan"), "1800000000"], ids=["NaN", "string"])
def test_an_iat_that_is_not_a_number_is_refused(impl, keys, clock, iat):
    """An iat of NaN (PyJWT's JSON reads it) or a string is refused, never a crash."""
    refuses(
        impl,
        make(keys, clock, iat=iat),
        clock,
        "check that iat is a number, and write the window as the condition to accept: every "
        "comparison with NaN is false",
    )


def test_a_proof_without_ath_is_refused(impl, keys, clock):
    """A proof without ath (not bound to any token) is refused."""
    refuses(impl, make(keys, clock, ath=None), clock, "ath is required with an access token")


def test_ath_must_be_the_hash_of_this_access_token(impl, keys, clock):
    """A proof made for another token (its ath) is refused with this one."""
    refuses(
        impl,
        make(keys, clock, ath=ath("another token")),
        clock,
        "ath must be base64url(sha256(access_token)): the proof was made for that token only",
    )


def test_a_replayed_proof_is_refused(impl, keys, clock):
    """The same proof (same jti) used a second time is refused."""
    seen = set()
    proof = make(keys, clock)
    verify(impl, proof, clock, seen)
    refuses(impl, proof, clock, "a jti in seen_jtis was used: refuse it", seen)


def test_another_proof_with_a_used_jti_is_refused(impl, keys, clock):
    """A new proof that re-uses a spent jti is refused."""
    refuses(
        impl,
        make(keys, clock, htm="POST"),
        clock,
        "check the jti against seen_jtis",
        {"proof-1"},
        method="POST",
    )


def test_a_refused_proof_does_not_use_up_its_jti(impl, keys, clock):
    """A proof that fails a rule does not spend its jti: the good one that follows is accepted."""
    seen = set()
    refuses(impl, make(keys, clock, htu=URL + "/x"), clock, "htu must be the request's URL", seen)
    assert seen == set(), "add the jti only after every other rule has passed"
    assert isinstance(verify(impl, make(keys, clock), clock, seen), str)


def test_garbage_is_an_invalid_token_error(impl, clock):
    """Something that is not a JWT at all is refused with InvalidTokenError."""
    refuses(impl, "not-a-proof", clock, "let jwt.get_unverified_header raise its DecodeError")
