"""An ID-token check that stops where PyJWT's checks stop: exercise 18's suite must catch it.

It trusts the header's alg, and never looks at typ, azp or the nonce. Not an exercise:
tests/test_exercise_harness.py runs the ex18 suite against this file.
"""

import jwt


def validate_id_token(id_token, jwks, *, issuer, client_id, nonce, now, leeway=0):
    header = jwt.get_unverified_header(id_token)
    jwk = next((k for k in jwks["keys"] if k.get("kid") == header.get("kid")), None)
    if jwk is None:
        raise jwt.InvalidTokenError("unknown kid")
    claims = jwt.decode(
        id_token,
        jwt.PyJWK(jwk).key,
        algorithms=[header["alg"]],  # "PyJWT checks the signature anyway"
        issuer=issuer,
        audience=client_id,
        options={
            "require": ["iss", "sub", "aud", "exp", "iat"],
            "verify_exp": False,
            "verify_iat": False,
        },
        leeway=leeway,
    )
    if not now < claims["exp"] + leeway:
        raise jwt.ExpiredSignatureError("the ID token has expired")
    return claims
