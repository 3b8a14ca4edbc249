"""Exercise 05 · Choose the key that verifies a token from a JWKS, by its kid.

An API that trusts an identity provider does not hold its keys: it fetches the provider's JSON
Web Key Set (``/.well-known/jwks.json``) and picks, for each token, the key whose ``kid`` the
token names. The algorithm comes from the key (its ``alg``), never from the token's header.

Check your work in the notebook with ``check("ex05")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex05_key_from_jwks.py --impl exercises``.
"""

import jwt


def key_for_token(token, jwks):
    """Return ``(alg, key)`` to verify ``token`` with, from ``jwks`` (a dict ``{"keys": [...]}``).

    * find the JWK whose ``kid`` equals the token header's ``kid``, among keys meant for
      signatures (``"use"`` absent or ``"sig"``);
    * turn it into a key object with ``jwt.PyJWK(jwk)``; ``.key`` is the key, and
      ``.algorithm_name`` the algorithm: the JWK's own ``alg`` (PyJWK guesses one from the key
      type when the JWK has none: RSA gives RS256, which is why identity providers publish it);
    * no kid in the token, or no such key: raise ``jwt.InvalidTokenError``.
    """
    raise NotImplementedError(
        "the token's header names its key (kid) but is not yet trusted: use it only to pick the "
        "key set's entry with that kid, and take the algorithm from that key, never the header"
    )
