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
    * the signature verifies with that jwk (``jwt.PyJWK(jwk, algorithm=alg).key``), for that
      algorithm only; a jwk that is no key (PyJWK raises ``jwt.PyJWKError`` or
      ``jwt.InvalidKeyError``, which are not ``InvalidTokenError``s) is refused too;
    * the claims ``jti``, ``htm``, ``htu``, ``iat`` and ``ath`` are present;
    * ``htm`` is ``method``, exactly (``"GET"`` is not ``"get"``);
    * ``htu`` is ``url``, both without their query and fragment (``urlsplit``);
    * ``iat`` is a number within ``MAX_AGE`` seconds of ``now``, before or after. PyJWT checks
      ``iat`` against the wall clock, not against ``now``: switch that off
      (``options={"verify_iat": False}``) and compare yourself;
    * ``ath`` is base64url(SHA-256(``access_token``)), without padding;
    * ``jti`` is not in ``seen_jtis``; add it, but only once every other rule has passed.

    The thumbprint (RFC 7638): the jwk's ``THUMBPRINT_MEMBERS[kty]`` only, as JSON with sorted
    keys and no spaces (``json.dumps(..., sort_keys=True, separators=(",", ":"))``), hashed
    with SHA-256, base64url without padding (``base64url_encode(...).decode()``).
    """
    header = jwt.get_unverified_header(proof)
    if header.get("typ") != "dpop+jwt":
        raise jwt.InvalidTokenError(f"typ must be 'dpop+jwt', not {header.get('typ')!r}")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise jwt.InvalidAlgorithmError(f"alg {alg!r} is not one of {ALGORITHMS}")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or jwk.get("kty") not in THUMBPRINT_MEMBERS:
        raise jwt.InvalidTokenError("the header carries no public key (jwk) of a known type")
    if any(name in jwk for name in PRIVATE_MEMBERS):
        raise jwt.InvalidTokenError("the jwk holds a private key: a proof carries the public one")
    try:
        key = jwt.PyJWK(jwk, algorithm=alg).key
    except jwt.PyJWTError as exc:  # PyJWKError, InvalidKeyError: not InvalidTokenErrors
        raise jwt.InvalidTokenError(f"the jwk is not a usable {alg} key: {exc}") from None
    claims = jwt.decode(
        proof,
        key,
        algorithms=[alg],
        options={"require": ["jti", "htm", "htu", "iat", "ath"], "verify_iat": False},
    )
    if claims["htm"] != method:
        raise jwt.InvalidTokenError(f"the proof is for {claims['htm']!r}, not {method!r}")
    if _without_query(claims["htu"]) != _without_query(url):
        raise jwt.InvalidTokenError(f"the proof is for {claims['htu']!r}, not {url!r}")
    iat = claims["iat"]
    if isinstance(iat, bool) or not isinstance(iat, (int, float)):
        raise jwt.InvalidTokenError(f"iat must be a number, not {iat!r}")
    # Written as the condition to accept: every comparison with NaN is false, so NaN fails it.
    if not now - MAX_AGE <= iat <= now + MAX_AGE:
        raise jwt.InvalidTokenError(f"iat is not within {MAX_AGE} s of now")
    if claims["ath"] != _b64(hashlib.sha256(access_token.encode()).digest()):
        raise jwt.InvalidTokenError("ath is not the hash of this access token")
    if claims["jti"] in seen_jtis:
        raise jwt.InvalidTokenError(f"jti {claims['jti']!r} was already used")
    seen_jtis.add(claims["jti"])
    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _without_query(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _b64(data):
    return base64url_encode(data).decode()
