"""Exercise 04 · Verify an access token: every trust rule, with PyJWT doing the cryptography.

A token's header says which key (``kid``) and which algorithm (``alg``) signed it, but the
header is written by whoever made the token, attacker included. So: look the key up by ``kid``
in *your* key set, and verify with the one algorithm that key is for, never the one the header
names. Then let PyJWT check the signature and the claims.

``keys`` maps each kid to ``(alg, key)``, for example::

    {"es256-1": ("ES256", <EC public key>), "hs256-1": ("HS256", b"<32-byte secret>")}

Check your work in the notebook with ``check("ex04")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex04_verify_access_token.py --impl exercises``.
"""

import jwt


def verify_access_token(token, keys, *, issuer, audience, leeway=30):
    """Return the token's claims if it passes every rule; raise ``jwt.InvalidTokenError``
    (or one of its subclasses) otherwise. The rules:

    * the header's ``kid`` names a key in ``keys`` (no kid, or an unknown one: refuse);
    * the signature verifies with that key, using *only that key's* algorithm
      (so ``alg: none``, or HS256 under an RSA key's kid, is refused);
    * ``exp``, ``iat`` and ``sub`` are present;
    * ``iss`` equals ``issuer`` and ``aud`` equals ``audience``;
    * ``exp`` and ``nbf`` hold, give or take ``leeway`` seconds of clock difference.
    """
    kid = jwt.get_unverified_header(token).get("kid")
    if kid not in keys:
        raise jwt.InvalidTokenError(f"unknown kid {kid!r}")
    alg, key = keys[kid]
    return jwt.decode(token, key, algorithms=[alg], issuer=issuer, audience=audience,
                      leeway=leeway, options={"require": ["exp", "iat", "sub"]})
