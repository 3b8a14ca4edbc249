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
    """Return the token's claims if it passes every rule; raise ``jwt.InvalidTokenError`` or
    the subclass named below otherwise. The rules:

    * the header's ``typ`` is ``"at+jwt"`` (an access token, RFC 9068), or the full media type
      ``"application/at+jwt"``; anything else: ``jwt.InvalidTokenError``;
    * the header's ``kid`` names a key in ``keys``; no kid, or an unknown one:
      ``jwt.InvalidTokenError``;
    * the signature verifies with that key, using *only that key's* algorithm (so ``alg: none``,
      HS256 under an RSA key's kid, or PS256 under an RS256 key's kid are refused);
      ``jwt.InvalidAlgorithmError`` or ``jwt.InvalidSignatureError``;
    * ``exp``, ``iat`` and ``sub`` are present: ``jwt.MissingRequiredClaimError``; ``sub`` is
      not empty: ``jwt.InvalidTokenError``;
    * ``iss`` equals ``issuer``: ``jwt.InvalidIssuerError``; ``aud`` is ``audience`` (or a list
      holding it, which PyJWT accepts by default): ``jwt.InvalidAudienceError``;
    * ``exp``, ``nbf`` and ``iat`` are finite numbers (NaN or Infinity: ``jwt.InvalidTokenError``),
      and ``exp`` and ``nbf`` hold, give or take ``leeway`` seconds of clock difference:
      ``jwt.ExpiredSignatureError``, ``jwt.ImmatureSignatureError``.

    PyJWT's ``jwt.decode`` raises all of these itself when given the right arguments; only the
    ``typ``, ``kid`` and empty-``sub`` rules are yours to write.
    """
    header = jwt.get_unverified_header(token)
    if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
        raise jwt.InvalidTokenError(f"typ {header.get('typ')!r} is not an access token's")
    kid = header.get("kid")
    if kid not in keys:
        raise jwt.InvalidTokenError(f"unknown kid {kid!r}")
    alg, key = keys[kid]
    claims = jwt.decode(
        token,
        key,
        algorithms=[alg],
        issuer=issuer,
        audience=audience,
        leeway=leeway,
        options={"require": ["exp", "iat", "sub"]},
    )
    if not claims["sub"]:  # PyJWT's require only checks that sub is there (and a string)
        raise jwt.InvalidTokenError("sub is empty: the token names no one")
    return claims
