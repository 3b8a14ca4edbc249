"""Checks for exercise 17: a PKCE verifier, its S256 challenge, and the token request.

The challenge is checked against RFC 7636's own example (Appendix B) and against Authlib, the
library the lab's identity provider is built on: its authorization endpoint's check of the
challenge and its token endpoint's check of the verifier.
"""

import os
import random
import re
import secrets
from types import SimpleNamespace

import pytest
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc7636 import CodeChallenge, create_s256_code_challenge

UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")
# RFC 7636 Appendix B: this verifier has this S256 challenge.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
# Verifiers of every allowed shape: shortest, longest, and every unreserved character.
VERIFIERS = [
    RFC_VERIFIER,
    "a" * 43,
    "Z9" * 64,
    "-._~" * 11,
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~",
] + [f"lab-verifier-{n:031d}" for n in range(40)]
CLIENT, REDIRECT = "lab-spa", "http://127.0.0.1:8765/callback"


def authlib_authorization_endpoint_check(challenge):
    """Authlib's check of the challenge in an authorization request (raises OAuth2Error)."""
    data = {"code_challenge": challenge, "code_challenge_method": "S256"}
    payload = SimpleNamespace(data=data, datalist={k: [v] for k, v in data.items()})
    grant = SimpleNamespace(request=SimpleNamespace(payload=payload))
    CodeChallenge(required=True).validate_code_challenge(grant, REDIRECT)


def authlib_token_endpoint_check(form, challenge):
    """Authlib's check of a public client's token request against the stored challenge."""
    code = SimpleNamespace(code_challenge=challenge, code_challenge_method="S256")
    request = SimpleNamespace(form=form, auth_method="none", authorization_code=code)
    CodeChallenge(required=True).validate_code_verifier(SimpleNamespace(request=request), None)


def test_a_verifier_is_43_to_128_unreserved_characters(impl):
    """A verifier is a str of 43 to 128 characters of A-Z a-z 0-9 - . _ ~."""
    for _ in range(20):
        verifier = impl.new_code_verifier()
        assert isinstance(verifier, str), "return the verifier as a str"
        assert UNRESERVED.fullmatch(verifier), (
            "only the unreserved characters A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1): no '+', '/', "
            "'=' or spaces; URL-safe base64 without padding fits"
        )
        assert 43 <= len(verifier) <= 128, (
            f"{len(verifier)} characters: RFC 7636 §4.1 asks for 43 to 128 (32 random bytes in "
            "URL-safe base64 are 43)"
        )


def test_verifiers_never_repeat(impl):
    """1,000 verifiers in a row are all different."""
    verifiers = {impl.new_code_verifier() for _ in range(1000)}
    assert len(verifiers) == 1000, "each login needs a fresh verifier: draw a new one per call"


def test_verifiers_do_not_come_from_the_random_module(impl):
    """Verifiers stay unguessable when the random module is seeded (they do not come from it)."""
    random.seed(17)
    first = impl.new_code_verifier()
    random.seed(17)
    assert impl.new_code_verifier() != first, (
        "the random module is predictable (seed it and it repeats): a verifier comes from "
        "secrets (RFC 7636 §7.1)"
    )


def test_a_verifier_draws_256_bits_from_the_os_random_source(impl, monkeypatch):
    """Each verifier draws at least 32 bytes (256 bits) from the OS's cryptographic source."""
    real, drawn = os.urandom, []

    def counting_urandom(n):
        drawn[-1] += n
        return real(n)

    monkeypatch.setattr(os, "urandom", counting_urandom)
    monkeypatch.setattr(random, "_urandom", counting_urandom)  # what secrets draws from
    for attr, value in list(vars(impl).items()):  # "from os import urandom" too
        if value is real:
            monkeypatch.setattr(impl, attr, counting_urandom)
    for _ in range(10):
        drawn.append(0)
        impl.new_code_verifier()
    assert min(drawn) >= 32, (
        f"{min(drawn)} random bytes behind a verifier: RFC 7636 §7.1 recommends 32 (256 bits) "
        "from a cryptographic source such as secrets"
    )


def test_the_rfc_7636_example_gives_its_challenge(impl):
    """RFC 7636 Appendix B's verifier gives Appendix B's challenge."""
    challenge = impl.code_challenge(RFC_VERIFIER)
    assert isinstance(challenge, str), "return the challenge as a str"
    assert challenge == RFC_CHALLENGE, (
        "the S256 challenge is BASE64URL(SHA-256(ASCII(verifier))) without '=' padding "
        "(RFC 7636 §4.2)"
    )


def test_the_challenge_is_not_the_verifier(impl):
    """The challenge is a hash of the verifier, not the verifier (that is "plain")."""
    for verifier in VERIFIERS:
        assert impl.code_challenge(verifier) != verifier, (
            "a challenge equal to the verifier is the 'plain' method: whoever sees the "
            "authorization request then knows the verifier; send its SHA-256 (S256)"
        )


def test_the_challenge_encodes_the_digest_bytes_not_its_hex(impl):
    """The challenge is the digest's 32 bytes in base64url (43 characters), not its hex."""
    for verifier in VERIFIERS:
        challenge = impl.code_challenge(verifier)
        assert not re.fullmatch(r"[0-9a-f]{64}", challenge), (
            "that is the hex digest: encode the digest's bytes in base64url instead"
        )
        assert len(challenge) == 43, "32 bytes in base64url without padding are 43 characters"


def test_the_challenge_has_no_padding(impl):
    """The challenge has no '=' padding."""
    for verifier in VERIFIERS:
        assert "=" not in impl.code_challenge(verifier), (
            "base64url *without padding* (RFC 7636 Appendix A): strip the trailing '='"
        )


def test_the_challenge_uses_the_url_safe_alphabet(impl):
    """The challenge uses base64url's '-' and '_', never standard base64's '+' and '/'."""
    for verifier in VERIFIERS:
        challenge = impl.code_challenge(verifier)
        assert not {"+", "/"} & set(challenge), (
            "standard base64 writes '+' and '/', which mean something else in a URL: use the "
            "URL-safe alphabet, '-' and '_' (RFC 4648 §5)"
        )


def test_authlib_agrees_with_every_challenge(impl):
    """Authlib computes the same challenge, and its authorization endpoint accepts it."""
    for verifier in VERIFIERS:
        challenge = impl.code_challenge(verifier)
        assert challenge == create_s256_code_challenge(verifier), (
            "the identity provider computes SHA-256 of the verifier, base64url without padding: "
            "yours must be the same"
        )
        try:
            authlib_authorization_endpoint_check(challenge)
        except OAuth2Error as error:
            raise AssertionError(
                f"Authlib's authorization endpoint refuses the challenge: {error.description}"
            ) from None


@pytest.mark.parametrize(
    "verifier",
    [
        pytest.param("a" * 42, id="42-characters"),
        pytest.param("a" * 129, id="129-characters"),
        pytest.param("", id="empty"),
        pytest.param("a" * 42 + "+", id="plus"),
        pytest.param("a" * 42 + "/", id="slash"),
        pytest.param("a" * 42 + "=", id="padding"),
        pytest.param("a" * 21 + " " + "a" * 21, id="space"),
        pytest.param("é" * 43, id="non-ascii-letters"),
        pytest.param("a" * 43 + "\n", id="trailing-newline"),
    ],
)
def test_a_verifier_outside_the_rules_is_refused(impl, verifier):
    """A verifier that is not 43-128 unreserved characters gets ValueError, not a challenge."""
    try:
        impl.code_challenge(verifier)
        came_back = "a challenge"
    except NotImplementedError:
        raise
    except ValueError:
        return
    except Exception as exc:  # noqa: BLE001
        came_back = type(exc).__name__
    assert came_back == "ValueError", (
        "the identity provider refuses such a verifier (RFC 7636 §4.1: 43 to 128 of A-Z a-z "
        "0-9 - . _ ~, the whole string): raise ValueError before sending it"
    )


def test_the_exchange_is_an_authorization_code_grant(impl):
    """The token request is grant_type=authorization_code with the code."""
    form = impl.token_request("the-code", RFC_VERIFIER, redirect_uri=REDIRECT, client_id=CLIENT)
    assert isinstance(form, dict), "return the form as a dict of field names to values"
    assert form.get("grant_type") == "authorization_code", (
        "grant_type is 'authorization_code' (RFC 6749 §4.1.3)"
    )
    assert form.get("code") == "the-code", "send the code the redirect brought back"


def test_the_exchange_repeats_the_redirect_uri(impl):
    """The token request carries the redirect_uri the authorization request used."""
    form = impl.token_request("the-code", RFC_VERIFIER, redirect_uri=REDIRECT, client_id=CLIENT)
    assert form.get("redirect_uri") == REDIRECT, (
        "redirect_uri is required when the authorization request had one, and must be the same "
        "(RFC 6749 §4.1.3): the server checks the code was sent there"
    )


def test_the_exchange_names_the_client(impl):
    """The token request of a public client names it with client_id."""
    form = impl.token_request("the-code", RFC_VERIFIER, redirect_uri=REDIRECT, client_id=CLIENT)
    assert form.get("client_id") == CLIENT, (
        "a client that does not authenticate sends its client_id (RFC 6749 §4.1.3)"
    )


def test_the_exchange_sends_the_verifier_not_the_challenge(impl):
    """The token request sends the verifier itself, and Authlib's token endpoint accepts it."""
    verifier = secrets.token_urlsafe(32)
    form = impl.token_request("the-code", verifier, redirect_uri=REDIRECT, client_id=CLIENT)
    assert form.get("code_verifier") == verifier, (
        "send the verifier as code_verifier (RFC 7636 §4.5): the server hashes it and compares "
        "with the challenge it kept"
    )
    try:
        authlib_token_endpoint_check(form, create_s256_code_challenge(verifier))
    except OAuth2Error as error:
        raise AssertionError(
            f"Authlib's token endpoint refuses the request: {error.description}"
        ) from None


def test_the_exchange_sends_nothing_else(impl):
    """The token request holds exactly the five fields, all strings."""
    form = impl.token_request("the-code", RFC_VERIFIER, redirect_uri=REDIRECT, client_id=CLIENT)
    fields = {"grant_type", "code", "redirect_uri", "client_id", "code_verifier"}
    assert set(form) == fields, (
        f"exactly {sorted(fields)}: a public client has no client_secret, and the challenge "
        "went with the authorization request, not here"
    )
    assert all(isinstance(value, str) for value in form.values()), "every value is a str"


def test_the_whole_exchange_passes_authlibs_checks(impl):
    """Your verifier, its challenge and your token request pass Authlib's checks end to end."""
    for _ in range(20):
        verifier = impl.new_code_verifier()
        challenge = impl.code_challenge(verifier)
        form = impl.token_request("the-code", verifier, redirect_uri=REDIRECT, client_id=CLIENT)
        try:
            authlib_authorization_endpoint_check(challenge)
            authlib_token_endpoint_check(form, challenge)
        except OAuth2Error as error:
            raise AssertionError(
                f"the identity provider refuses this login: {error.error}: {error.description}"
            ) from None
