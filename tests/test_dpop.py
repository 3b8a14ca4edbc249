"""DPoP proofs (labserver/oauth/dpop.py): every rule of RFC 9449 section 4.3, each with a check
that fails if the rule is taken out, the RFCs' own examples, and garbage that must end as a
DPoPError, never another exception (hand-picked odd cases, then hypothesis)."""

from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.utils import base64url_encode

from labserver.oauth.dpop import (
    ALGORITHMS,
    PROOF_TYPE,
    DPoPError,
    ReplayCache,
    VerifiedProof,
    access_token_hash,
    dpop_challenge,
    jwk_thumbprint,
    make_proof,
    normalize_htu,
    proof_from_headers,
    verify_proof,
)
from labserver.store import connect

NOW = 1_800_000_000
URL = "https://orders.jwt-lab.test:8443/orders"
TOKEN = "eyJhbGciOiJFUzI1NiJ9.an-access-token.signature"

EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
EC_JWK = ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True)

# RFC 9449 figure 2 (token request) and figure 13 (resource request), line folding undone;
# their key's thumbprint is the jkt of figure 9; RFC 7638 section 3.1's RSA key and thumbprint.
RFC_KEY = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjN"
    "oUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VE"
    "RWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19"
)
RFC_TOKEN_PROOF = (
    RFC_KEY + ".eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2Vy"
    "dmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLv"
    "qRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
)
RFC_RESOURCE_PROOF = (
    RFC_KEY + ".eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNv"
    "dXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJ"
    "aM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1p"
    "lemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA"
)
RFC_ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
RFC_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
RFC7638_JWK = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"
    "_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
    "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


def claims(**changes) -> dict:
    """A good proof's claims for GET URL at NOW, with ``changes`` (None removes a claim)."""
    base = {"jti": "jti-1", "htm": "GET", "htu": URL, "iat": NOW, "ath": access_token_hash(TOKEN)}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def signed(payload=None, *, key=EC_KEY, alg="ES256", jwk=None, **header) -> str:
    """A proof signed by ``key`` with ``alg``; its header carries ``jwk`` (by default the public
    key of ``key``) and ``header``'s entries (None removes one)."""
    if jwk is None:
        exporter = {"ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}.get(alg, RSAAlgorithm)
        jwk = exporter.to_jwk(key.public_key(), as_dict=True)
    fields = {"typ": PROOF_TYPE, "jwk": jwk, **header}
    return raw(
        {"alg": alg, **fields},
        claims() if payload is None else payload,
        key=key,
    )


def raw(header, payload, *, key=EC_KEY, signature: bytes | None = None) -> str:
    """A JWS of exactly this header and payload (dicts without their None entries, or bytes as
    they are), signed by ``key`` with the header's alg when it can be, else with ``signature``
    (by default none)."""
    if isinstance(header, dict):
        header = {k: v for k, v in header.items() if v is not None}
    parts = [
        base64url_encode(p if isinstance(p, bytes) else json.dumps(p).encode())
        for p in (header, payload)
    ]
    signing_input = b".".join(parts)
    if signature is None:
        signature = b""
        alg = header.get("alg") if isinstance(header, dict) else None
        if alg in ALGORITHMS:
            try:
                signature = jwt.get_algorithm_by_name(alg).sign(signing_input, key)
            except (TypeError, ValueError, AttributeError):
                pass  # a key of another type: left unsigned
    return (signing_input + b"." + base64url_encode(signature)).decode()


def verify(proof, **options) -> VerifiedProof:
    kwargs = {"htm": "GET", "htu": URL, "now": NOW, "replay": None, "access_token": TOKEN}
    return verify_proof(proof, **{**kwargs, **options})


def refused(rule: str, proof, **options) -> DPoPError:
    with pytest.raises(DPoPError) as caught:
        verify(proof, **options)
    assert caught.value.rule == rule, str(caught.value)
    assert str(caught.value).startswith(rule.replace("_", " ") + ":"), "the message names the rule"
    return caught.value


@pytest.fixture
def replay(store):
    return ReplayCache(store)


# --- good proofs, and the RFCs' own examples -----------------------------------------------


@pytest.mark.parametrize("key", [EC_KEY, ED_KEY, RSA_KEY], ids=["ES256", "EdDSA", "PS256"])
def test_a_proof_made_by_make_proof_verifies_and_gives_its_thumbprint(key, replay):
    proof = make_proof(key, "GET", URL + "?page=2#top", iat=NOW, access_token=TOKEN)
    header = jwt.get_unverified_header(proof)
    assert header["typ"] == PROOF_TYPE and header["alg"] in ALGORITHMS
    assert not {"d", "p", "q"} & set(header["jwk"]), "make_proof sends the public key only"
    proof_claims = jwt.decode(proof, options={"verify_signature": False})
    assert proof_claims["htu"] == URL, "no query and no fragment in htu"
    assert proof_claims["ath"] == access_token_hash(TOKEN) and len(proof_claims["jti"]) >= 22
    verified = verify(proof, replay=replay)
    assert verified.jkt == jwk_thumbprint(header["jwk"]) and verified.jti == proof_claims["jti"]
    assert verified.claims == proof_claims and verified.header == header


def test_an_rs256_proof_verifies():
    proof = jwt.encode(
        claims(),
        RSA_KEY,
        algorithm="RS256",
        headers={"typ": PROOF_TYPE, "jwk": RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True)},
    )
    assert verify(proof).header["alg"] == "RS256"


def test_the_rfc_9449_token_request_proof_verifies_with_its_published_thumbprint():
    proof = verify_proof(
        RFC_TOKEN_PROOF,
        htm="POST",
        htu="https://server.example.com/token",
        now=1562262616,
        replay=None,
    )
    assert proof.jkt == RFC_JKT and proof.jti == "-BwC3ESc6acc2lTc"


def test_the_rfc_9449_resource_request_proof_verifies_with_its_token_and_binding():
    proof = verify_proof(
        RFC_RESOURCE_PROOF,
        htm="GET",
        htu="https://resource.example.org/protectedresource",
        now=1562262618,
        replay=None,
        access_token=RFC_ACCESS_TOKEN,
        expected_jkt=RFC_JKT,
    )
    assert proof.claims["ath"] == access_token_hash(RFC_ACCESS_TOKEN)


def test_thumbprints_match_rfc_7638_and_ignore_optional_members():
    assert jwk_thumbprint(RFC7638_JWK) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    bare = {k: RFC7638_JWK[k] for k in ("e", "kty", "n")}
    assert jwk_thumbprint(bare) == jwk_thumbprint({**bare, "use": "sig", "x5c": ["..."]})
    header = json.loads(jwt.utils.base64url_decode(RFC_KEY))
    assert jwk_thumbprint(header["jwk"]) == RFC_JKT


def test_ath_is_the_base64url_sha256_of_the_token():
    assert access_token_hash(RFC_ACCESS_TOKEN) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "oct", "k": "c2VjcmV0"},
        {"kty": "EC", "crv": "P-256", "x": "abc"},
        {"kty": "EC", "crv": "P-256", "x": "abc", "y": "ab=c"},
        {"kty": "RSA", "n": 5, "e": "AQAB"},
        {"kty": "RSA", "n": "abc", "e": "AQAB", "d": "secret"},
        {"kty": "XYZ"},
        {},
        ["kty", "EC"],
        {"kty": "OKP", "crv": "Ed25519\ud800", "x": "abc"},
    ],
)
def test_thumbprints_refuse_private_symmetric_and_broken_keys(jwk):
    with pytest.raises(DPoPError) as caught:
        jwk_thumbprint(jwk)
    assert caught.value.rule in ("private_key", "invalid_key")


# --- one check per rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "proof",
    [
        None,
        b"a.b.c",
        "x" * 9000,
        signed() + "." + signed(),  # two proofs in one header
        ".".join(signed().split(".")[:2]),
        signed().replace(".", "!.", 1),  # not base64url
        signed() + "==",  # padded: PyJWT would read it, JWS (RFC 7515 section 2) has no padding
        "eyJ.eyJ.abc",
        raw(b"not json", claims()),
        raw(b"[1, 2]", claims(), signature=b"x"),
        raw({"alg": "ES256", "typ": PROOF_TYPE, "jwk": EC_JWK}, b'"a string"'),
        raw({"alg": "ES256", "typ": PROOF_TYPE, "jwk": EC_JWK}, b'{"iat": NaN}'),
        raw({"alg": "ES256", "typ": PROOF_TYPE, "jwk": EC_JWK}, b'{"jti": "a", "jti": "b"}'),
        raw({"alg": "ES256", "typ": PROOF_TYPE, "jwk": EC_JWK}, b'{"jti": "\\ud800"}'),
        raw({"alg": "ES256", "typ": PROOF_TYPE, "jwk": EC_JWK}, b"[" * 5000 + b"]" * 5000),
        raw({"alg": "ES256", "typ": PROOF_TYPE, "jwk": EC_JWK}, b'{"iat": 1' + b"0" * 5000 + b"}"),
        signed(crit=["exp"], exp=1),
        signed(b64=False),
        signed(kid=5),  # PyJWT refuses a kid that is not a string
    ],
    ids=lambda p: repr(p)[:30],
)
def test_anything_but_one_well_formed_jws_is_malformed(proof):
    refused("malformed", proof)


@pytest.mark.parametrize("typ", [None, "JWT", "at+jwt", "DPoP+JWT", "application/dpop+jwt", 1])
def test_typ_must_be_dpop_jwt(typ):
    refused("wrong_type", signed(typ=typ))


def test_alg_none_is_refused():
    refused(
        "algorithm_not_allowed", raw({"alg": "none", "typ": PROOF_TYPE, "jwk": EC_JWK}, claims())
    )


def test_a_proof_signed_with_a_shared_secret_is_refused():
    # An HMAC "signed" with public data (the jwk's x) would prove nothing.
    proof = jwt.encode(
        claims(),
        EC_JWK["x"].encode(),
        algorithm="HS256",
        headers={"typ": PROOF_TYPE, "jwk": EC_JWK},
    )
    refused("algorithm_not_allowed", proof)


@pytest.mark.parametrize("alg", [None, "ES384", "RS512", ["ES256"], "es256"])
def test_alg_must_be_one_of_the_allowed(alg):
    refused("algorithm_not_allowed", signed(alg=alg, jwk=EC_JWK))


@pytest.mark.parametrize("jwk", [None, "a key", ["EC"], 5])
def test_the_header_must_carry_a_jwk_object(jwk):
    proof = raw({"alg": "ES256", "typ": PROOF_TYPE, "jwk": jwk}, claims())
    if jwk is None:
        proof = raw({"alg": "ES256", "typ": PROOF_TYPE, "kid": "client-key"}, claims())
    refused("missing_key", proof)


@pytest.mark.parametrize("key", [EC_KEY, ED_KEY, RSA_KEY], ids=["EC", "OKP", "RSA"])
def test_a_jwk_holding_the_private_key_is_refused_though_the_signature_verifies(key):
    exporter = {EC_KEY: ECAlgorithm, ED_KEY: OKPAlgorithm, RSA_KEY: RSAAlgorithm}[key]
    private_jwk = exporter.to_jwk(key, as_dict=True)
    alg = {EC_KEY: "ES256", ED_KEY: "EdDSA", RSA_KEY: "PS256"}[key]
    error = refused("private_key", signed(key=key, alg=alg, jwk=private_jwk))
    assert "d" in error.description


@pytest.mark.parametrize(
    ("alg", "key", "jwk"),
    [
        ("ES256", RSA_KEY, RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True)),
        ("EdDSA", EC_KEY, EC_JWK),
        ("PS256", EC_KEY, EC_JWK),
        (
            "ES256",
            EC_KEY,
            ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1()).public_key(), as_dict=True),
        ),
    ],
    ids=["RSA-for-ES256", "EC-for-EdDSA", "EC-for-PS256", "P384-for-ES256"],
)
def test_the_jwk_must_be_a_key_of_the_algorithms_type(alg, key, jwk):
    refused(
        "key_not_for_algorithm",
        raw({"alg": alg, "typ": PROOF_TYPE, "jwk": jwk}, claims(), signature=b"x" * 64),
    )


def test_a_jwk_that_is_not_a_point_on_the_curve_is_refused():
    jwk = {**EC_JWK, "y": EC_JWK["x"]}
    refused(
        "invalid_key",
        raw({"alg": "ES256", "typ": PROOF_TYPE, "jwk": jwk}, claims(), signature=b"x" * 64),
    )


def test_a_short_rsa_key_is_refused():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    refused("invalid_key", signed(key=small, alg="PS256"))


@pytest.mark.parametrize("jwk", [{"kty": "EC", "crv": "P-256", "x": 5, "y": "a"}, {"crv": "P-256"}])
def test_a_jwk_without_its_members_is_refused(jwk):
    # kty missing: not even the type matches; x not a string: the key cannot be read.
    with pytest.raises(DPoPError) as caught:
        verify(raw({"alg": "ES256", "typ": PROOF_TYPE, "jwk": jwk}, claims(), signature=b"x"))
    assert caught.value.rule in ("invalid_key", "key_not_for_algorithm")


def test_a_proof_changed_after_signing_is_refused():
    header, _, signature = signed().split(".")
    changed = base64url_encode(json.dumps(claims(htm="DELETE")).encode()).decode()
    refused("bad_signature", f"{header}.{changed}.{signature}", htm="DELETE")


def test_a_proof_must_be_signed_by_the_key_in_its_own_header():
    # The thief's trick: put the victim's public key in the header, sign with their own.
    refused("bad_signature", signed(key=OTHER_KEY, jwk=EC_JWK))


@pytest.mark.parametrize("name", ["jti", "htm", "htu", "iat", "ath"])
def test_each_claim_is_required(name):
    refused("missing_claim", signed(claims(**{name: None})))


def test_without_an_access_token_ath_is_not_required():
    assert verify(signed(claims(ath=None)), access_token=None).jti == "jti-1"


@pytest.mark.parametrize(
    "changes",
    [
        {"jti": ""},
        {"jti": "j" * 257},
        {"jti": 5},
        {"htm": ["GET"]},
        {"htm": ""},
        {"htu": 5},
        {"htu": "orders"},
        {"htu": "ftp://orders.jwt-lab.test/orders"},
        {"htu": "https://user@orders.jwt-lab.test:8443/orders"},
        {"iat": "1800000000"},
        {"iat": True},
        {"iat": None, "nbf": NOW},
        {"iat": 10**30},
        {"ath": 5},
    ],
    ids=repr,
)
def test_claims_of_the_wrong_type_are_refused(changes):
    rule = "missing_claim" if "nbf" in changes else "invalid_claim"
    refused(rule, signed(claims(**changes)))


def test_jti_of_the_maximum_length_is_accepted():
    assert verify(signed(claims(jti="j" * 256))).jti == "j" * 256


@pytest.mark.parametrize("method", ["POST", "get", "GET "])
def test_htm_must_be_this_requests_method_exactly(method):
    refused("wrong_method", signed(claims(htm=method)))


@pytest.mark.parametrize(
    "url",
    [
        "https://orders.jwt-lab.test:8443/billing",
        "https://billing.jwt-lab.test:8443/orders",
        "http://orders.jwt-lab.test:8443/orders",
        "https://orders.jwt-lab.test/orders",
        "https://orders.jwt-lab.test:8443/orders/",
        "https://orders.jwt-lab.test:8443/Orders",
    ],
)
def test_htu_must_be_this_requests_url(url):
    refused("wrong_url", signed(claims(htu=url)))


@pytest.mark.parametrize(
    "url",
    [
        "HTTPS://Orders.JWT-Lab.test:8443/orders",
        "https://orders.jwt-lab.test:8443/orders?page=2",
        "https://orders.jwt-lab.test:8443/orders#frag",
        "https://orders.jwt-lab.test:8443/a/../orders",
        "https://orders.jwt-lab.test:8443/%6Frders",
    ],
)
def test_htu_is_compared_after_normalisation_without_query_or_fragment(url):
    assert verify(signed(claims(htu=url))).jti == "jti-1"
    assert verify(signed(), htu=url).jti == "jti-1", "the request's URL is normalised too"


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTPS://Example.COM", "https://example.com/"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("http://example.com:/a", "http://example.com/a"),
        ("http://example.com/a/./b/../c", "http://example.com/a/c"),
        ("http://example.com/%7euser/%2f%41", "http://example.com/~user/%2FA"),
        ("http://[::1]:8080/x?y#z", "http://[::1]:8080/x"),
        ("http://127.0.0.1:5000/orders/é", "http://127.0.0.1:5000/orders/%C3%A9"),
    ],
)
def test_normalize_htu(url, normal):
    assert normalize_htu(url) == normal


@pytest.mark.parametrize(
    "url",
    [
        "",
        "/orders",
        "mailto:alice@example.com",
        "http://exa mple.com/",
        "http://example.com/a b",
        "http://example.com/\x00",
        "http://example.com/%zz",
        "http://example.com:99999/",
        "http://[::1/",
        "http://ex\ud800ample.com/",
        "http://exämple.com/",
        "http://" + "a" * 3000 + ".com/",
        5,
    ],
    ids=repr,
)
def test_normalize_htu_refuses_what_is_not_an_http_url(url):
    with pytest.raises(DPoPError) as caught:
        normalize_htu(url)
    assert caught.value.rule == "invalid_url"


def test_a_proof_is_accepted_up_to_max_age_plus_leeway_and_no_older():
    assert verify(signed(claims(iat=NOW - 65))).jti == "jti-1"
    error = refused("too_old", signed(claims(iat=NOW - 66)))
    assert "60 s" in error.description
    refused("too_old", signed(claims(iat=NOW - 11)), max_age=5, leeway=5)


def test_a_proof_from_the_future_is_refused_beyond_the_leeway():
    assert verify(signed(claims(iat=NOW + 5))).jti == "jti-1"
    refused("issued_in_the_future", signed(claims(iat=NOW + 6)))
    refused("issued_in_the_future", signed(claims(iat=NOW + 1)), leeway=0)


def test_ath_must_be_the_hash_of_the_token_sent_with_the_proof():
    refused("wrong_access_token", signed(), access_token=TOKEN + "x")
    refused("wrong_access_token", signed(claims(ath=access_token_hash("another token"))))


def test_a_non_ascii_access_token_is_a_dpop_error():
    with pytest.raises(DPoPError):
        verify(signed(), access_token="tökén")


def test_the_proof_must_be_signed_by_the_key_the_token_is_bound_to():
    own = jwk_thumbprint(EC_JWK)
    assert verify(signed(), expected_jkt=own).jkt == own
    error = refused("key_not_bound", signed(key=OTHER_KEY), expected_jkt=own)
    assert error.error == "invalid_token", "a token used with the wrong key is an invalid token"


def test_a_required_nonce_must_be_there_and_right():
    assert verify(signed(claims(nonce="n-1")), nonce="n-1").jti == "jti-1"
    assert refused("missing_nonce", signed(), nonce="n-1").error == "use_dpop_nonce"
    assert (
        refused("wrong_nonce", signed(claims(nonce="n-0")), nonce="n-1").error == "use_dpop_nonce"
    )


def test_a_proof_is_good_for_one_request(replay):
    proof = signed()
    assert verify(proof, replay=replay).jti == "jti-1"
    error = refused("replayed", proof, replay=replay)
    assert "jti-1" not in str(error), "the answer does not echo the client's jti"
    refused("replayed", signed(claims(htm="POST")), replay=replay, htm="POST")  # same jti


def test_a_refused_proof_does_not_use_up_its_jti(replay):
    refused("wrong_url", signed(claims(htu=URL + "/x")), replay=replay)
    refused("bad_signature", signed(key=OTHER_KEY, jwk=EC_JWK), replay=replay)
    assert verify(signed(), replay=replay).jti == "jti-1"


def test_the_replay_memory_lasts_exactly_as_long_as_a_proof_is_accepted(clock):
    store = connect(None, clock)  # the embedded store, on lab time
    replay = ReplayCache(store)
    now = clock.now()
    verify(signed(claims(iat=now)), replay=replay, now=now)
    assert 0 < store.pttl("lab:dpop-jti:jti-1") <= 65_000
    clock.advance(64.9)
    refused("replayed", signed(claims(iat=now)), replay=replay, now=clock.now())
    clock.advance(0.2)
    refused("too_old", signed(claims(iat=now)), replay=replay, now=clock.now())
    assert store.exists("lab:dpop-jti:jti-1") == 0, "forgotten once the iat check refuses it"


def test_first_use_is_true_once_per_jti(store):
    cache = ReplayCache(store, prefix="lab:test-jti:")
    assert cache.first_use("a", until=NOW + 60, now=NOW) is True
    assert cache.first_use("a", until=NOW + 600, now=NOW) is False
    assert cache.first_use("b", until=NOW, now=NOW) is True, "a zero window still records"
    assert ReplayCache(store, prefix="lab:test-jti:").first_use("a", NOW + 60, NOW) is False


# --- odd inputs: DPoPError, never another exception -----------------------------------------


@pytest.mark.parametrize(
    "proof",
    [
        "",
        "..",
        "...",
        "\ud800.\ud800.\ud800",
        "é.é.é",
        "a" * 10_000,
        signed(claims(jti="\u00e9\u4e2d\U0001f600")).replace("e", "é"),
        raw({"alg": "ES256", "typ": PROOF_TYPE, "jwk": {**EC_JWK, "x": "\u00e9"}}, claims()),
        raw({"alg": "ES256", "typ": PROOF_TYPE, "jwk": {**EC_JWK, "crv": ["P-256"]}}, claims()),
        raw({"alg": "ES256", "typ": PROOF_TYPE, "jwk": {**EC_JWK, "kty": {"a": 1}}}, claims()),
        raw(
            {"alg": "PS256", "typ": PROOF_TYPE, "jwk": {"kty": "RSA", "n": "AQAB", "e": ""}},
            claims(),
        ),
        raw(
            {"alg": "EdDSA", "typ": PROOF_TYPE, "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AA"}},
            claims(),
        ),
        signed(claims(htu="https://orders.jwt-lab.test:8443/\ud83d")),
        signed(claims(iat=float("1e308"))),
        signed(claims(iat=-(10**20))),
    ],
    ids=lambda p: repr(p)[:30],
)
def test_odd_proofs_are_dpop_errors(proof):
    with pytest.raises(DPoPError):
        verify(proof)


def _json_values():
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=8,
    )


def _survives(proof, **options):
    try:
        verify(proof, **options)
    except DPoPError as exc:
        assert exc.rule and str(exc)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=300) | st.text("eyJABCabc123-_.=", max_size=300))
def test_fuzz_random_text(proof):
    _survives(proof)


@FUZZ
@given(
    typ=st.sampled_from([PROOF_TYPE]) | _json_values(),
    alg=st.sampled_from(ALGORITHMS) | _json_values(),
    jwk=st.sampled_from([EC_JWK])
    | _json_values()
    | st.fixed_dictionaries({"kty": st.text(), "crv": st.text(), "x": st.text(), "y": st.text()}),
    payload=st.dictionaries(
        st.sampled_from(["jti", "htm", "htu", "iat", "ath", "nonce"]), _json_values()
    ),
    base=st.booleans(),
)
def test_fuzz_headers_and_claims(typ, alg, jwk, payload, base):
    body = {**claims(), **payload} if base else payload
    _survives(raw({"typ": typ, "alg": alg, "jwk": jwk}, body), nonce="n")
    _survives(raw({"typ": typ, "alg": alg, "jwk": jwk}, body, signature=b"x" * 64))


@FUZZ
@given(position=st.integers(min_value=0), char=st.characters())
def test_fuzz_one_character_changed(position, char):
    proof = signed()
    position %= len(proof)
    changed = proof[:position] + char + proof[position + 1 :]
    _survives(changed)


@pytest.mark.parametrize("kty", [[], {}, ["EC"], 1.5, None])
def test_a_thumbprint_of_a_jwk_whose_kty_is_not_a_string_is_refused(kty):
    """Found by the fuzz below: ``{"kty": []}`` was a TypeError (a list cannot be a dict key)."""
    with pytest.raises(DPoPError) as caught:
        jwk_thumbprint({"kty": kty})
    assert caught.value.rule == "invalid_key"


@FUZZ
@given(_json_values())
def test_fuzz_thumbprints(jwk):
    try:
        assert len(jwk_thumbprint(jwk)) == 43
    except DPoPError:
        pass


@FUZZ
@given(st.text(max_size=80) | st.builds(lambda s: "https://" + s, st.text(max_size=60)))
def test_fuzz_normalize_htu(url):
    try:
        normal = normalize_htu(url)
    except DPoPError:
        return
    assert normalize_htu(normal) == normal, "normalising twice changes nothing"


# --- headers and challenges -----------------------------------------------------------------


def test_exactly_one_dpop_header():
    assert proof_from_headers(["p"]) == "p"
    with pytest.raises(DPoPError) as none:
        proof_from_headers([])
    with pytest.raises(DPoPError) as two:
        proof_from_headers(["p", "q"])
    assert (none.value.rule, two.value.rule) == ("missing_proof", "malformed")


def test_the_challenge_names_the_algorithms_and_the_error():
    assert dpop_challenge() == 'DPoP algs="ES256 EdDSA RS256 PS256"'
    assert dpop_challenge("invalid_dpop_proof", 'jti "x" \\ é', algs=("ES256",)) == (
        'DPoP algs="ES256", error="invalid_dpop_proof", error_description="jti ?x? ? ?"'
    )
    error = refused("replayed", signed(), replay=_used_up())
    assert error.challenge().startswith('DPoP algs="ES256 EdDSA RS256 PS256", error="invalid_dpop')


def _used_up():
    class Always:
        def first_use(self, jti, until, now):
            return False

    return Always()


def test_make_proof_refuses_a_key_it_cannot_sign_proofs_with():
    with pytest.raises(TypeError):
        make_proof(ec.generate_private_key(ec.SECP384R1()), "GET", URL, iat=NOW)
    with pytest.raises(TypeError):
        make_proof(b"secret", "GET", URL, iat=NOW)


def test_a_proof_over_8_kib_is_refused_though_well_signed():
    assert verify(signed(claims(pad="p" * 5000))).jti == "jti-1"
    refused("malformed", signed(claims(pad="p" * 7000)))
