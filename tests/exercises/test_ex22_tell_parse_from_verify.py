"""Checks for exercise 22: which PyJWT calls check the signature, exp and aud.

The right answers are not written here: each check runs the call on a genuine token and on
three tokens that differ from it in one way each (a payload edited under the old signature, an
expiry in the past, another audience), and PyJWT's own behaviour is the answer. So the checks
stay right when PyJWT changes.
"""

import time
from functools import cache

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from labserver.forge import tamper

API = "https://api.jwt-lab.test"
CHECKS = ("signature", "exp", "aud")
KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEY = KEY.public_key()

#: The quiz's calls, as exercises/ex22_tell_parse_from_verify.py lists them.
CALLS = {
    "get_unverified_header": lambda token: jwt.get_unverified_header(token),
    "decode_without_signature": lambda token: jwt.decode(
        token, options={"verify_signature": False}
    ),
    "decode_complete": lambda token: jwt.decode_complete(
        token, PUBLIC_KEY, algorithms=["ES256"], audience=API
    ),
    "decode_without_exp": lambda token: jwt.decode(
        token, PUBLIC_KEY, algorithms=["ES256"], audience=API, options={"verify_exp": False}
    ),
    "jws_decode": lambda token: jwt.api_jws.decode(token, PUBLIC_KEY, algorithms=["ES256"]),
    "decode_exp_only": lambda token: jwt.decode(
        token, options={"verify_signature": False, "verify_exp": True}
    ),
}

#: Why each call does or does not check each thing: the rule, shown when an answer is wrong.
RULES = {
    ("get_unverified_header", "signature"): (
        "the header is read to choose the key, before any key is at hand: nothing can have been "
        "verified yet (the name says so)"
    ),
    ("get_unverified_header", "exp"): "a header carries no claims: there is no exp to judge",
    ("get_unverified_header", "aud"): "a header carries no claims: there is no aud to judge",
    ("decode_without_signature", "signature"): (
        "verify_signature False means what it says: any payload is returned as it is"
    ),
    ("decode_without_signature", "exp"): (
        "with the signature check off, PyJWT turns every claim check off as well (they would "
        "judge claims anyone could have written): an expired token passes"
    ),
    ("decode_without_signature", "aud"): (
        "with the signature check off, the claim checks are off too, aud among them"
    ),
    ("decode_complete", "signature"): (
        "decode_complete is decode that also returns the header and the signature: the same "
        "verification, with a key and an algorithm list"
    ),
    ("decode_complete", "exp"): "decode_complete checks the registered claims exactly as decode",
    ("decode_complete", "aud"): (
        "given an audience, decode_complete refuses a token for any other, exactly as decode"
    ),
    ("decode_without_exp", "signature"): (
        "verify_exp switches off one claim check; the signature is still verified"
    ),
    ("decode_without_exp", "exp"): (
        "verify_exp False: an expired token passes, however well signed (verified is not valid)"
    ),
    ("decode_without_exp", "aud"): (
        "only the exp check was switched off: the audience is still compared"
    ),
    ("jws_decode", "signature"): (
        "the JWS layer is the signature layer: with a key and algorithms it verifies"
    ),
    ("jws_decode", "exp"): (
        "JWS signs bytes and knows nothing of JWT claims: it never reads exp (RFC 7515 vs 7519)"
    ),
    ("jws_decode", "aud"): "JWS signs bytes and knows nothing of JWT claims: it never reads aud",
    ("decode_exp_only", "signature"): (
        "the signature check is still off: the exp being checked does not make the claims true"
    ),
    ("decode_exp_only", "exp"): (
        "a claim check asked for by name comes back on without the signature: exp is judged, "
        "on claims anyone could have written"
    ),
    ("decode_exp_only", "aud"): (
        "only exp was turned back on: with the signature off, the aud check stays off"
    ),
}


def _token(**changes) -> str:
    now = int(time.time())
    claims = {"sub": "bob", "aud": API, "iat": now, "exp": now + 3600, **changes}
    return jwt.encode(claims, KEY, algorithm="ES256", headers={"kid": "es256-1"})


def _probe(check: str) -> str:
    """A token that differs from a genuine one in ``check`` alone."""
    if check == "signature":
        return tamper(_token(), roles=["admin"])  # the old signature over an edited payload
    if check == "exp":
        return _token(exp=int(time.time()) - 3600)
    return _token(aud="https://another-api.example")


@cache
def observed(call: str) -> frozenset:
    """What ``call`` checks, asked of PyJWT: the probes it refuses (a genuine token passes)."""
    CALLS[call](_token())  # a genuine token must pass, or the probes mean nothing
    refused = set()
    for check in CHECKS:
        try:
            CALLS[call](_probe(check))
        except jwt.InvalidTokenError:
            refused.add(check)
    return frozenset(refused)


def answer_for(impl, call: str, check: str) -> tuple[bool, bool]:
    """(whether ``call`` checks ``check``, whether the learner says it does)."""
    answer = impl.checks(call)
    assert isinstance(answer, (set, frozenset)) and answer <= set(CHECKS), (
        f"checks({call!r}) returns a set of some of {CHECKS}, e.g. {{'signature', 'exp'}}, or "
        f"set() for none, not {answer!r}"
    )
    return check in observed(call), check in answer


def assert_right(impl, call: str, check: str) -> None:
    truth, said = answer_for(impl, call, check)
    verb = "checks" if truth else "does not check"
    assert said == truth, f"{call} {verb} {check}: {RULES[(call, check)]}"


@pytest.mark.parametrize("check", CHECKS)
def test_get_unverified_header(impl, check):
    """What jwt.get_unverified_header(token) checks."""
    assert_right(impl, "get_unverified_header", check)


@pytest.mark.parametrize("check", CHECKS)
def test_decode_with_verify_signature_false(impl, check):
    """What jwt.decode(token, options={"verify_signature": False}) checks."""
    assert_right(impl, "decode_without_signature", check)


@pytest.mark.parametrize("check", CHECKS)
def test_decode_complete_with_a_key(impl, check):
    """What jwt.decode_complete(token, key, algorithms=[...], audience=API) checks."""
    assert_right(impl, "decode_complete", check)


@pytest.mark.parametrize("check", CHECKS)
def test_decode_with_verify_exp_false(impl, check):
    """What jwt.decode(token, key, ..., options={"verify_exp": False}) checks."""
    assert_right(impl, "decode_without_exp", check)


@pytest.mark.parametrize("check", CHECKS)
def test_the_jws_layers_decode(impl, check):
    """What jwt.api_jws.decode(token, key, algorithms=[...]) checks."""
    assert_right(impl, "jws_decode", check)


@pytest.mark.parametrize("check", CHECKS)
def test_decode_with_the_signature_off_and_exp_on(impl, check):
    """What jwt.decode(token, options={"verify_signature": False, "verify_exp": True}) checks."""
    assert_right(impl, "decode_exp_only", check)


def test_only_the_calls_that_verify_the_signature_can_be_trusted(impl):
    """The calls whose claims are at least signed: those that verify the signature (a request
    path may only take claims from these, and then needs exp and aud checked too)."""
    trusted = {call for call in CALLS if "signature" in impl.checks(call)}
    truth = {call for call in CALLS if "signature" in observed(call)}
    assert trusted == truth, (
        "a call verifies the signature only when it is given a key and an algorithm list and the "
        "signature check is not switched off; every other call returns whatever the token says"
    )
