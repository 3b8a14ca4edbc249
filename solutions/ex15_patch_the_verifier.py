"""Exercise 15 · A verifier that every attack of chapter 9 bounces off (solution).

The four fixes: no ``alg: none`` branch; no key from the token's ``jwk`` header; never fetch the
token's ``jku`` (``fetch`` is simply not used); an unknown or missing ``kid`` raises
``InvalidTokenError`` instead of crashing. The key's own algorithm is the only one allowed.
"""

import jwt


def verify(token, jwks, *, audience, fetch):
    """Return the claims of ``token`` if a key of ``jwks`` (by kid) signed it with its own
    algorithm and it is meant for ``audience``; otherwise raise ``jwt.InvalidTokenError``."""
    kid = jwt.get_unverified_header(token).get("kid")
    jwk = next((k for k in jwks["keys"] if isinstance(kid, str) and k.get("kid") == kid), None)
    if jwk is None:
        raise jwt.InvalidTokenError(f"unknown kid {kid!r}")
    key = jwt.PyJWK(jwk)
    return jwt.decode(
        token,
        key.key,
        algorithms=[key.algorithm_name],
        audience=audience,
        options={"require": ["exp", "sub"]},
    )
