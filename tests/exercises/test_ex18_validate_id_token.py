"""Checks for exercise 18: ``validate_id_token``, against good, forged and misdirected tokens.

Times come from the frozen lab clock (``clock``): every token is made around ``clock.now()``
and judged at it, so no check depends on the computer's clock, and none waits.
"""

import math

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ISS, CLIENT, NONCE = "https://idp.jwt-lab.test", "lab-spa", "n-0S6_WzA2Mj"


def _rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def provider():
    """The identity provider's private keys by kid, and the JWKS it publishes."""
    private = {
        "rs256-1": ("RS256", _rsa(), RSAAlgorithm),
        "rs256-2": ("RS256", _rsa(), RSAAlgorithm),
        "es256-1": ("ES256", ec.generate_private_key(ec.SECP256R1()), ECAlgorithm),
        "eddsa-1": ("EdDSA", ed25519.Ed25519PrivateKey.generate(), OKPAlgorithm),
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


def make(provider, now, kid="rs256-1", header=None, key=None, alg=None, **changes):
    """An ID token for CLIENT, issued at ``now``; a claim given as None is left out."""
    private, _ = provider
    own_alg, own_key, _ = private[kid]
    claims = {
        "iss": ISS,
        "sub": "alice",
        "aud": CLIENT,
        "iat": int(now),
        "exp": int(now) + 300,
        "nonce": NONCE,
        **changes,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    headers = {"kid": kid, "typ": "JWT", **(header or {})}
    return jwt.encode(claims, key or own_key, algorithm=alg or own_alg, headers=headers)


def validate(impl, provider, token, now, *, leeway=0, jwks=None):
    return impl.validate_id_token(
        token,
        jwks or provider[1],
        issuer=ISS,
        client_id=CLIENT,
        nonce=NONCE,
        now=now,
        leeway=leeway,
    )


def accepts(impl, provider, token, now, hint, **kwargs):
    """The token must be accepted: return its claims; otherwise fail with ``hint``, showing
    what was raised."""
    try:
        return validate(impl, provider, token, now, **kwargs)
    except NotImplementedError:
        raise
    except jwt.ImmatureSignatureError as exc:
        came_back = f"ImmatureSignatureError: {exc}"
        hint = (
            "PyJWT compared iat with the computer's clock, not with now: turn off its time "
            "checks (verify_exp, verify_iat) and judge exp at now yourself"
        )
    except Exception as exc:  # noqa: BLE001
        came_back = f"{type(exc).__name__}: {exc}"
    assert came_back == "accepted", hint


def refuses(impl, provider, token, now, hint, error=jwt.InvalidTokenError, **kwargs):
    """The token must be refused with ``error`` (or a subclass); otherwise fail with ``hint``,
    showing what came back ("accepted", or what was raised) against what was expected."""
    try:
        validate(impl, provider, token, now, **kwargs)
        came_back = "accepted"
    except NotImplementedError:
        raise
    except error:
        return
    except Exception as exc:  # noqa: BLE001
        came_back = type(exc).__name__
        hint += f" (with jwt.{error.__name__} or a subclass, not {came_back})"
    assert came_back == error.__name__, hint


@pytest.mark.parametrize("kid", ["rs256-1", "es256-1", "eddsa-1"])
def test_a_good_id_token_gives_its_claims(impl, provider, clock, kid):
    """A correct ID token is accepted and its claims returned (RSA, EC and EdDSA keys)."""
    hint = "a good ID token is accepted: verify it with the JWKS key named by its kid"
    claims = accepts(impl, provider, make(provider, clock.now(), kid), clock.now(), hint)
    assert isinstance(claims, dict) and claims.get("sub") == "alice", (
        "return the claims jwt.decode gives you"
    )
    assert claims.get("nonce") == NONCE, "return all of the token's claims"


def test_the_kid_chooses_the_key(impl, provider, clock):
    """Of two RSA keys, the one the kid names verifies the token."""
    now = clock.now()
    accepts(
        impl,
        provider,
        make(provider, now, "rs256-2"),
        now,
        "look the key up by the header's kid: not the first RSA key of the set",
    )
    other = make(provider, now, "rs256-2", key=provider[0]["rs256-1"][1])
    refuses(impl, provider, other, now, "a token signed by another key than its kid's is forged")


@pytest.mark.parametrize("kid", [None, "rs256-9"])
def test_a_missing_or_unknown_kid_is_refused(impl, provider, clock, kid):
    """A token whose kid is missing or not in the JWKS is refused: no guessing a key."""
    private, _ = provider
    headers = {} if kid is None else {"kid": kid}
    token = jwt.encode(
        {"iss": ISS, "sub": "alice", "aud": CLIENT, "iat": 1, "exp": 2, "nonce": NONCE},
        private["rs256-1"][1],
        algorithm="RS256",
        headers=headers,
    )
    refuses(impl, provider, token, clock.now(), "refuse a kid that names no key of the JWKS")


def test_a_forged_signature_is_refused(impl, provider, clock):
    """A token signed with someone else's key, under the provider's kid, is refused."""
    forged = make(provider, clock.now(), key=_rsa(), sub="mallory")
    refuses(
        impl,
        provider,
        forged,
        clock.now(),
        "verify the signature with the provider's key: never decode without verifying",
    )


def test_a_tampered_token_is_refused(impl, provider, clock):
    """A good token whose claims were edited after signing is refused."""
    head, _, signature = make(provider, clock.now()).split(".")
    evil = make(provider, clock.now(), sub="mallory").split(".")[1]
    refuses(impl, provider, f"{head}.{evil}.{signature}", clock.now(), "verify the signature")


def test_alg_none_is_refused(impl, provider, clock):
    """An unsigned token (alg none) under a known kid is refused."""
    unsigned = jwt.encode(
        jwt.decode(make(provider, clock.now()), options={"verify_signature": False}),
        None,
        algorithm="none",
        headers={"kid": "rs256-1"},
    )
    refuses(impl, provider, unsigned, clock.now(), "alg none is no signature: refuse it")


@pytest.mark.parametrize("header_alg", ["PS256", "HS256"])
def test_another_algorithm_under_a_known_kid_is_refused(impl, provider, clock, header_alg):
    """A token whose header names another algorithm than its key's is refused."""
    key = b"k" * 32 if header_alg == "HS256" else provider[0]["rs256-1"][1]
    token = make(provider, clock.now(), key=key, alg=header_alg)
    refuses(
        impl,
        provider,
        token,
        clock.now(),
        "the algorithm comes from the JWKS key (its alg), never from the token's header",
    )


def test_a_shared_secret_key_is_refused(impl, provider, clock):
    """An HS256 token is refused even when the JWKS holds a secret key under its kid."""
    secret = b"a shared secret, thirty-two byte"
    jwks = {
        "keys": [
            *provider[1]["keys"],
            {"kty": "oct", "k": jwt.utils.base64url_encode(secret).decode(), "kid": "hs-1"},
        ]
    }
    token = make(provider, clock.now(), header={"kid": "hs-1"}, key=secret, alg="HS256")
    refuses(
        impl,
        provider,
        token,
        clock.now(),
        "only public-key signatures: a shared secret (kty oct, HS256) proves nothing about who "
        "signed, since whoever can check can also sign",
        jwks=jwks,
    )


def test_an_access_token_is_not_an_id_token(impl, provider, clock):
    """An RFC 9068 access token from the same provider is refused."""
    now = int(clock.now())
    access = jwt.encode(
        {
            "iss": ISS,
            "sub": "alice",
            "aud": "orders",
            "client_id": CLIENT,
            "scope": "orders:read",
            "jti": "at-1",
            "iat": now,
            "exp": now + 300,
        },
        provider[0]["rs256-1"][1],
        algorithm="RS256",
        headers={"kid": "rs256-1", "typ": "at+jwt"},
    )
    refuses(impl, provider, access, now, "an access token is for an API (aud), not this client")


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT"])
def test_a_token_typed_as_an_access_token_is_refused(impl, provider, clock, typ):
    """A token whose header says at+jwt is refused, even with every ID-token claim."""
    token = make(provider, clock.now(), header={"typ": typ})
    refuses(
        impl,
        provider,
        token,
        clock.now(),
        "typ at+jwt marks an access token (RFC 9068 §2.1): refuse it as an ID token, whatever "
        "its claims (the media type is case-insensitive)",
    )


@pytest.mark.parametrize(
    "iss", ["https://idp.jwt-lab.test/", "https://idp.jwt-lab.test.evil", "https://evil.test"]
)
def test_the_issuer_must_match_exactly(impl, provider, clock, iss):
    """A token from another issuer, however close, is refused."""
    refuses(
        impl,
        provider,
        make(provider, clock.now(), iss=iss),
        clock.now(),
        "iss must be exactly the issuer (OIDC Core §3.1.3.7 rule 2): no prefix, no trailing /",
    )


@pytest.mark.parametrize("aud", ["orders", ["orders"], ["orders", "billing"]])
def test_a_token_for_another_audience_is_refused(impl, provider, clock, aud):
    """A token whose aud does not hold this client's id is refused."""
    token = make(provider, clock.now(), aud=aud, azp="orders")
    refuses(impl, provider, token, clock.now(), "aud must be client_id or a list holding it")


@pytest.mark.parametrize("aud", ["lab-spa-admin", "xlab-spa", ["lab-spa-admin"]])
def test_an_audience_that_only_contains_the_client_id_as_text_is_refused(
    impl, provider, clock, aud
):
    """An aud like "lab-spa-admin" is not the client "lab-spa"."""
    refuses(
        impl,
        provider,
        make(provider, clock.now(), aud=aud),
        clock.now(),
        "compare aud with client_id as whole values: 'lab-spa' in 'lab-spa-admin' is a "
        "substring test, and true",
    )


def test_a_list_audience_holding_the_client_is_accepted(impl, provider, clock):
    """aud may be a list: [client_id] alone, or several with azp = client_id."""
    now = clock.now()
    hint = "aud may be a list holding client_id (RFC 7519 §4.1.3)"
    accepts(impl, provider, make(provider, now, aud=[CLIENT]), now, hint)
    token = make(provider, now, aud=[CLIENT, "orders"], azp=CLIENT)
    accepts(impl, provider, token, now, "several audiences are fine when azp is client_id")


@pytest.mark.parametrize("azp", [None, "orders"])
def test_several_audiences_need_azp_to_be_this_client(impl, provider, clock, azp):
    """With several audiences, an azp naming this client is required."""
    token = make(provider, clock.now(), aud=[CLIENT, "orders"], azp=azp)
    refuses(
        impl,
        provider,
        token,
        clock.now(),
        "a token with several audiences must say which one it was issued to: azp, and it must "
        "be client_id (OIDC Core §3.1.3.7 rules 4-5)",
    )


def test_an_azp_must_be_this_client(impl, provider, clock):
    """An azp naming another client is refused, even with a single audience."""
    refuses(
        impl,
        provider,
        make(provider, clock.now(), azp="another-app"),
        clock.now(),
        "when there is an azp, it must be client_id (OIDC Core §3.1.3.7 rule 5)",
    )


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "iat", "nonce"])
def test_a_missing_claim_is_refused(impl, provider, clock, claim):
    """An ID token without iss, sub, aud, exp, iat or nonce is refused."""
    refuses(
        impl,
        provider,
        make(provider, clock.now(), **{claim: None}),
        clock.now(),
        f"an ID token without {claim} is refused: iss, sub, aud, exp and iat are required "
        "(OIDC Core §2), and the nonce this client sent must come back",
    )


def test_a_different_nonce_is_refused(impl, provider, clock):
    """A token carrying another login's nonce is refused."""
    refuses(
        impl,
        provider,
        make(provider, clock.now(), nonce="n-from-another-login"),
        clock.now(),
        "nonce must equal the one this client sent (OIDC Core §3.1.3.7 rule 11): it stops a "
        "token from another login being replayed into this one",
    )


def test_expiry_is_judged_at_now_not_the_wall_clock(impl, provider, clock):
    """exp is compared with now (the lab clock), not with the computer's clock."""
    now = clock.now()
    accepts(
        impl,
        provider,
        make(provider, now),
        now,
        "a token valid at now is accepted, whatever the computer's clock says: judge exp and "
        "iat at now (PyJWT's own checks use the wall clock: turn them off)",
    )
    now = clock.advance_to(4_000_000_000)  # the year 2096: far ahead of any wall clock
    expired = make(provider, now - 600)
    refuses(
        impl,
        provider,
        expired,
        now,
        "a token expired at now is refused, although the computer's clock says it is fresh: "
        "compare exp with now, not with time.time()",
        error=jwt.ExpiredSignatureError,
    )


@pytest.mark.parametrize("seconds_left", [0, -1, -3600])
def test_an_expired_token_is_refused(impl, provider, clock, seconds_left):
    """A token whose exp is now or earlier is refused (ExpiredSignatureError)."""
    token = make(provider, clock.now() - 300 + seconds_left)  # exp = now + seconds_left
    refuses(
        impl,
        provider,
        token,
        clock.now(),
        "now must be before exp (OIDC Core §3.1.3.7 rule 9): at exp itself the token has "
        "expired; raise jwt.ExpiredSignatureError",
        error=jwt.ExpiredSignatureError,
    )


def test_a_token_one_second_from_expiry_is_accepted(impl, provider, clock):
    """A token with exp = now + 1 is still good."""
    now = clock.now()
    hint = "now before exp: accepted (compare with <, not <=)"
    accepts(impl, provider, make(provider, now, exp=int(now) + 1), now, hint)


def test_the_leeway_allows_for_clock_difference(impl, provider, clock):
    """Expired 29 s ago passes with leeway=30; 30 s ago does not."""
    now = clock.now()
    late = make(provider, now, exp=int(now) - 29)
    hint = "leeway seconds of clock difference are allowed past exp"
    accepts(impl, provider, late, now, hint, leeway=30)
    refuses(
        impl,
        provider,
        make(provider, now, exp=int(now) - 30),
        now,
        "exp + leeway must still be after now",
        error=jwt.ExpiredSignatureError,
        leeway=30,
    )


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"exp": math.nan}, id="exp-NaN"),
        pytest.param({"exp": math.inf}, id="exp-Infinity"),
        pytest.param({"exp": "tomorrow"}, id="exp-text"),
        pytest.param({"iat": "yesterday"}, id="iat-text"),
    ],
)
def test_times_are_finite_numbers(impl, provider, clock, changes):
    """exp or iat that is NaN, Infinity or text is refused, not trusted."""
    refuses(
        impl,
        provider,
        make(provider, clock.now(), **changes),
        clock.now(),
        "exp and iat are NumericDates (RFC 7519 §2): refuse anything but a finite number; "
        "every comparison with NaN is false, and Infinity never expires",
    )


@pytest.mark.parametrize("garbage", ["", "not a token", "a.b.c", "e30.e30.e30"])
def test_garbage_is_refused_with_an_invalid_token_error(impl, provider, clock, garbage):
    """A string that is not a JWT is refused with jwt.InvalidTokenError, not another error."""
    refuses(
        impl,
        provider,
        garbage,
        clock.now(),
        "whatever comes in, refuse with jwt.InvalidTokenError (PyJWT's DecodeError is one)",
    )
