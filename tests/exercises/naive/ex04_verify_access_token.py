"""A naive verifier that believes the token's own alg header: exercise 04's suite must catch it.

Not an exercise: tests/test_exercise_harness.py runs the ex04 suite against this file.
"""

import jwt


def verify_access_token(token, keys, *, issuer, audience, leeway=30):
    header = jwt.get_unverified_header(token)
    _, key = keys.get(header.get("kid"), (None, None))
    alg = header["alg"]  # trusting the attacker's header
    if alg.lower() == "none":
        return jwt.decode(token, options={"verify_signature": False})
    try:
        return jwt.decode(
            token, key, algorithms=[alg], issuer=issuer, audience=audience, leeway=leeway
        )
    except (TypeError, ValueError) as exc:  # as if a careful coder wrapped every library error
        raise jwt.InvalidTokenError(str(exc)) from None
