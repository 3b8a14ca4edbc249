"""PKCE with standard base64 and a token request without redirect_uri: exercise 17's suite must
catch it.

Not an exercise: tests/test_exercise_harness.py runs the ex17 suite against this file.
"""

import base64
import hashlib
import secrets


def new_code_verifier():
    return secrets.token_urlsafe(32)


def code_challenge(verifier):
    if not 43 <= len(verifier) <= 128:
        raise ValueError("a code verifier is 43 to 128 characters")
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.b64encode(digest).decode().rstrip("=")  # the padding goes, but not + and /


def token_request(code, verifier, *, redirect_uri, client_id):
    # "the code already says where it was sent": RFC 6749 §4.1.3 says the server must check it
    return {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "code_verifier": verifier,
    }
