"""The library quiz answered from the function names: exercise 22's suite must catch it.

It takes ``decode_complete`` for a raw parse ("complete" = everything, unverified), believes
``verify_signature: False`` still checks expiry, that the JWS layer checks claims like the JWT
one, and that a call which checks ``exp`` has verified the token. Not an exercise:
tests/test_ex22_wrong_answers.py runs the ex22 suite against this file.
"""

ANSWERS = {
    "get_unverified_header": set(),
    "decode_without_signature": {"exp"},
    "decode_complete": set(),
    "decode_without_exp": {"signature", "aud"},
    "jws_decode": {"signature", "exp", "aud"},
    "decode_exp_only": {"signature", "exp"},
}


def checks(call):
    return set(ANSWERS[call])
