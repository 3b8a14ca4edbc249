"""Exercise 20 · Verify a DPoP proof: the request is signed by the key the token is bound to.

A bearer token works for whoever holds it. A DPoP-bound token (RFC 9449) does not: its issuer
wrote the client's public-key thumbprint into it (``cnf.jkt``), and every request must come
with a *proof*, a small JWT the client signs with the private key, naming this one request::

    header   {"typ": "dpop+jwt", "alg": "ES256", "jwk": {<the client's PUBLIC key>}}
    payload  {"jti": "<unique>", "htm": "GET", "htu": "https://orders.test/orders",
              "iat": <when it was made>, "ath": "<base64url(sha256(access token))>"}

The key to verify the proof with is the one in the proof's own header: that is not a weakness,
because the resource server then compares that key's thumbprint with the token's ``cnf.jkt``.
So a thief with the token but not the private key cannot make a proof that matches, and a
copied proof is good for one request, once, for a minute. Authlib has no DPoP support: this
check is written by hand on PyJWT (the lab's own, with every rule of RFC 9449 section 4.3, is
``labserver/oauth/dpop.py``).

Check your work in the notebook with ``check("ex20")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex20_verify_dpop_proof.py --impl exercises``.
"""

import hashlib
import json
from urllib.parse import urlsplit

import jwt
from jwt.utils import base64url_encode

#: Asymmetric algorithms only: never "none", never a shared secret (HS256).
ALGORITHMS = ["ES256", "EdDSA", "RS256", "PS256"]
MAX_AGE = 60  # seconds a proof's iat may be from now, either way
#: RFC 7638 section 3.2: the members a JWK thumbprint hashes, per key type.
THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}
#: Members only a private JWK has (RFC 7518 section 6).
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def verify_dpop_proof(proof, *, method, url, now, access_token, seen_jtis):
    """Return the thumbprint of the key that signed ``proof``, a DPoP proof sent with a request
    to ``url`` by HTTP ``method`` at time ``now``, together with ``access_token``; raise
    ``jwt.InvalidTokenError`` (or a subclass) if any rule fails. The rules:

    * the header's ``typ`` is ``"dpop+jwt"``;
    * the header's ``alg`` is one of ``ALGORITHMS``;
    * the header's ``jwk`` is a JSON object holding a *public* key: none of ``PRIVATE_MEMBERS``;
    * the signature verifies with that jwk, for that algorithm only; a jwk that is no usable
      key is refused with an ``InvalidTokenError`` too (PyJWT's own key errors are not ones);
    * the claims ``jti``, ``htm``, ``htu``, ``iat`` and ``ath`` are present;
    * ``htm`` is ``method``, exactly (``"GET"`` is not ``"get"``);
    * ``htu`` is ``url``, both without their query and fragment (RFC 9449 section 4.3);
    * ``iat`` is a number within ``MAX_AGE`` seconds of ``now``, before or after: judged at
      ``now``, not by the computer's clock (which is what PyJWT's own ``iat`` check reads);
    * ``ath`` is base64url(SHA-256(``access_token``)), without padding;
    * ``jti`` is not in ``seen_jtis``; add it, but only once every other rule has passed.

    The thumbprint is RFC 7638 section 3's: the key's required members only
    (``THUMBPRINT_MEMBERS[kty]``), as JSON with its keys sorted and no whitespace, hashed with
    SHA-256, in base64url without padding. You return it; the API then compares it with the
    token's ``cnf.jkt``, so that only the key the token was bound to can make a proof for it.
    """
    raise NotImplementedError(
        "a proof binds one request to one key: read the key from the proof's own header (public "
        "members only) and let it verify the signature; then the method, the URL (without "
        "query), the time, the token's hash and the jti must all be this request's, in that "
        "order, and a jti is spent only by a proof that passed"
    )
