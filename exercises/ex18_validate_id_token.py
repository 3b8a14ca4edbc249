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


def validate_id_token(id_token, jwks, *, issuer, client_id, nonce, now, leeway=0):
    """Return the claims of ``id_token`` if it passes every rule of OIDC Core §3.1.3.7; raise
    ``jwt.InvalidTokenError`` (or a subclass) otherwise. The rules:

    * it is not an access token: a header ``typ`` of ``at+jwt`` (RFC 9068) is refused;
    * the key is the JWK of ``jwks`` (``{"keys": [...]}``) whose ``kid`` the header names, and
      the algorithm is that key's own (a JWK names it, or its type implies it), never the
      header's; only public-key algorithms: a shared-secret key (``kty`` ``oct``, HS256...) or
      ``none`` is refused;
    * the signature verifies; ``iss``, ``sub``, ``aud``, ``exp``, ``iat`` are present;
    * ``iss`` is exactly ``issuer``; ``aud`` is ``client_id`` or a list holding it;
    * with several audiences there must be an ``azp``, and an ``azp`` must be ``client_id``;
    * ``exp`` and ``iat`` are finite numbers, and ``now < exp + leeway``:
      ``jwt.ExpiredSignatureError`` when it is not;
    * the token's ``nonce`` claim equals ``nonce``, the value this client sent with its
      authorization request.
    """
    raise NotImplementedError(
        "the header is the attacker's: use it to refuse an access token's typ and to find the "
        "key by kid, then verify with that key's own public-key algorithm; PyJWT checks iss and "
        "aud but judges time by the computer's clock, so judge exp at now yourself, then azp "
        "and the nonce (OIDC Core §3.1.3.7)"
    )
