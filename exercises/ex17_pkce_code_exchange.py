"""Exercise 17 · PKCE: a code verifier, its S256 challenge, and the code exchange.

A public client (a mobile app, a single-page app) has no secret with which to prove, at the
token endpoint, that it is the one that started the login. PKCE (RFC 7636) gives it a one-time
secret instead. Before the redirect it draws a random *code verifier* and sends only its hash,
the *code challenge*, with ``code_challenge_method=S256``. When it trades the authorization code
for tokens, it sends the verifier itself: the identity provider hashes it and compares. Whoever
caught the code on its way back through the redirect does not have the verifier.

Check your work in the notebook with ``check("ex17")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex17_pkce_code_exchange.py --impl exercises``.
"""

import base64
import hashlib
import re
import secrets


def new_code_verifier():
    """A fresh code verifier: 43 to 128 characters of ``A-Z a-z 0-9 - . _ ~`` (RFC 7636 §4.1),
    carrying at least 256 bits from the ``secrets`` module, different on every call."""
    raise NotImplementedError(
        "at least 256 random bits (32 bytes) from the secrets module, written with URL-safe "
        "characters only: 43 to 128 of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1, §7.1)"
    )


def code_challenge(verifier):
    """The S256 code challenge of ``verifier`` (RFC 7636 §4.2): the SHA-256 digest of its ASCII
    bytes, base64url-encoded without ``=`` padding.

    A verifier that is not 43 to 128 characters of the unreserved set: ``ValueError``.
    """
    raise NotImplementedError(
        "first refuse a verifier that is not 43 to 128 unreserved characters (RFC 7636 §4.1); "
        "the challenge is the SHA-256 of the verifier, base64url without padding (RFC 7636 §4.2)"
    )


def token_request(code, verifier, *, redirect_uri, client_id):
    """The form a public client POSTs to the token endpoint to trade ``code`` for tokens
    (RFC 6749 §4.1.3, with RFC 7636 §4.5's ``code_verifier``), as a dict of strings."""
    raise NotImplementedError(
        "an authorization_code grant (RFC 6749 §4.1.3): the code, the same redirect_uri as in "
        "the authorization request, the client_id of a client without a secret, and the "
        "verifier itself, not its challenge (RFC 7636 §4.5)"
    )
