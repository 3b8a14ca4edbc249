"""Exercise 18 · Validate an ID token, as the client that asked for it (OIDC Core §3.1.3.7).

An ID token tells a client who logged in. It is addressed to the client (``aud`` is its
``client_id``), not to an API, and it is only worth something when every rule holds: it is
signed by the identity provider with one of the keys of its JWKS, it comes from the expected
issuer, it is for this client, it has not expired, and its ``nonce`` is the one this client put
in its own authorization request (so that a token caught from another login cannot be replayed
into this one).

The signature and most claims are PyJWT's to check; the time is *yours*: judge ``exp`` at
``now`` (the lab clock), because PyJWT compares with the computer's clock.

Check your work in the notebook with ``check("ex18")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex18_validate_id_token.py --impl exercises``.
"""

import math

import jwt

ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")  # RFC 9068 §2.1


def signing_key(id_token, jwks):
    """The ``jwt.PyJWK`` in ``jwks`` named by the token's ``kid``: a public key meant for
    signatures (``use`` absent or ``"sig"``), of an asymmetric algorithm."""
    kid = jwt.get_unverified_header(id_token).get("kid")
    for jwk in jwks.get("keys", []):
        if kid is not None and jwk.get("kid") == kid and jwk.get("use", "sig") == "sig":
            try:
                key = jwt.PyJWK(jwk)
            except jwt.PyJWTError as exc:
                raise jwt.InvalidTokenError(f"the key {kid!r} is unusable: {exc}") from None
            alg = key.algorithm_name
            if jwk.get("kty") == "oct" or alg == "none" or alg.startswith("HS"):
                raise jwt.InvalidTokenError(f"{alg} is not a public-key signature")
            return key
    raise jwt.InvalidTokenError(f"no signing key with kid {kid!r} in the provider's key set")


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_id_token(id_token, jwks, *, issuer, client_id, nonce, now, leeway=0):
    """Return the claims of ``id_token`` if it passes every rule of OIDC Core §3.1.3.7; raise
    ``jwt.InvalidTokenError`` (or a subclass) otherwise. The rules:

    * it is not an access token: a header ``typ`` of ``at+jwt`` (RFC 9068) is refused;
    * the key is the JWK of ``jwks`` (``{"keys": [...]}``) whose ``kid`` the header names, and
      the algorithm is that key's (``jwt.PyJWK(jwk).algorithm_name``), never the header's; only
      public-key algorithms: a shared-secret key (``kty`` ``oct``, HS256...) or ``none`` is refused;
    * the signature verifies; ``iss``, ``sub``, ``aud``, ``exp``, ``iat`` are present;
    * ``iss`` is exactly ``issuer``; ``aud`` is ``client_id`` or a list holding it;
    * with several audiences there must be an ``azp``, and an ``azp`` must be ``client_id``;
    * ``exp`` and ``iat`` are finite numbers, and ``now`` is before ``exp`` (give or take
      ``leeway`` seconds): ``jwt.ExpiredSignatureError`` when it is not;
    * the token's ``nonce`` claim equals ``nonce``, the value this client sent with its
      authorization request.
    """
    typ = jwt.get_unverified_header(id_token).get("typ")
    if str(typ).lower() in ACCESS_TOKEN_TYPES:
        raise jwt.InvalidTokenError("an access token (typ at+jwt) is not an ID token")
    key = signing_key(id_token, jwks)
    claims = jwt.decode(
        id_token,
        key.key,
        algorithms=[key.algorithm_name],
        issuer=issuer,
        audience=client_id,
        options={
            "require": ["iss", "sub", "aud", "exp", "iat"],
            "verify_exp": False,  # PyJWT would judge these by the wall clock: done below, at now
            "verify_iat": False,
        },
    )
    several = isinstance(claims["aud"], list) and len(claims["aud"]) > 1
    if several and "azp" not in claims:
        raise jwt.InvalidTokenError("several audiences and no azp: who is this token for?")
    if "azp" in claims and claims["azp"] != client_id:
        raise jwt.InvalidTokenError(f"azp is {claims['azp']!r}, not this client")
    if not is_number(claims["exp"]) or not is_number(claims["iat"]):
        raise jwt.InvalidTokenError("exp and iat must be finite numbers")
    if not now < claims["exp"] + leeway:
        raise jwt.ExpiredSignatureError("the ID token has expired")
    if claims.get("nonce") != nonce:
        raise jwt.InvalidTokenError("the nonce is not the one this client sent")
    return claims
