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

# RFC 7636 §4.1: 43 to 128 "unreserved" characters (RFC 3986 §2.3): A-Z a-z 0-9 - . _ ~
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def new_code_verifier():
    """A fresh code verifier: 43 to 128 characters of ``A-Z a-z 0-9 - . _ ~`` (RFC 7636 §4.1),
    carrying at least 256 bits from the ``secrets`` module, different on every call."""
    return secrets.token_urlsafe(32)  # 32 bytes: 256 bits, written as 43 base64url characters


def code_challenge(verifier):
    """The S256 code challenge of ``verifier`` (RFC 7636 §4.2): the SHA-256 digest of its ASCII
    bytes, base64url-encoded without ``=`` padding.

    A verifier that is not 43 to 128 characters of the unreserved set: ``ValueError``.
    """
    if not isinstance(verifier, str) or not VERIFIER.fullmatch(verifier):
        raise ValueError("a code verifier is 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_request(code, verifier, *, redirect_uri, client_id):
    """The form a public client POSTs to the token endpoint to trade ``code`` for tokens
    (RFC 6749 §4.1.3, with RFC 7636 §4.5's ``code_verifier``), as a dict of strings."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,  # the same as in the authorization request
        "client_id": client_id,  # a public client names itself: it has no secret to show
        "code_verifier": verifier,
    }
