"""A DPoP check that verifies the signature and the request, but not what ties the proof to
the token and to one use: exercise 20's suite must catch it.

It trusts whatever key the header carries (private members and all), never looks at ath, and
spends the jti as soon as it reads it, so a refused proof burns its jti. Not an exercise:
tests/test_exercise_harness.py runs the ex20 suite against this file.
"""

import hashlib
import json
from urllib.parse import urlsplit

import jwt

from solutions.ex20_verify_dpop_proof import ALGORITHMS, THUMBPRINT_MEMBERS, _b64


def verify_dpop_proof(proof, *, method, url, now, access_token, seen_jtis):
    header = jwt.get_unverified_header(proof)
    claims = jwt.decode(proof, options={"verify_signature": False})
    if claims.get("jti") in seen_jtis:
        raise jwt.InvalidTokenError("replayed")
    seen_jtis.add(claims.get("jti"))  # spent before the proof is known to be good
    if header.get("typ") != "dpop+jwt" or header.get("alg") not in ALGORITHMS:
        raise jwt.InvalidTokenError("not a DPoP proof")
    jwk = header.get("jwk") or {}
    try:
        key = jwt.PyJWK(jwk, algorithm=header["alg"]).key  # a private jwk works just as well
    except jwt.PyJWTError as exc:
        raise jwt.InvalidTokenError(str(exc)) from None
    claims = jwt.decode(
        proof,
        key,
        algorithms=[header["alg"]],
        options={"require": ["jti", "htm", "htu", "iat"], "verify_iat": False},
    )
    parts = urlsplit(url)
    if claims["htm"] != method or claims["htu"] != f"{parts.scheme}://{parts.netloc}{parts.path}":
        raise jwt.InvalidTokenError("another request")
    if not now - 60 <= claims["iat"] <= now + 60:
        raise jwt.InvalidTokenError("too old")
    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    text = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return _b64(hashlib.sha256(text.encode()).digest())
