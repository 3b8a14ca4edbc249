"""Exercise 22 · Tell parsing from verifying: which PyJWT calls check what.

WebGoat's JWT lesson ends with a quiz: of a few library calls, which verify a token and which
only read it? Mistaking one for the other is this chapter's first attack (section 2): a request
path that *parses* a token where it should *verify* it accepts anyone's claims. And "verified"
has parts: a call can check the signature and still let an expired token through.

Here are six PyJWT 2 calls; ``CALLS`` below names each one and shows its code. ``token`` is
an ES256 access token, ``public_key`` its issuer's public key, and ``API`` the audience this
service expects; each call either returns (it let the token through) or raises
``jwt.InvalidTokenError``.

For each, say which of three things it checks: ``"signature"`` (a token whose payload was edited
under its old signature is refused), ``"exp"`` (an expired token is refused) and ``"aud"`` (a
token for another audience is refused). Answer from what you know first; then read PyJWT's
documentation (``help(jwt.decode)``) or try the calls in a scratch cell. The checks ask PyJWT
itself, on a forged, an expired and a misdirected token, so they follow the installed version.

Check your work in the notebook with ``check("ex22")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex22_tell_parse_from_verify.py --impl exercises``.
"""

#: The calls of the quiz, by the names ``checks`` is asked about.
CALLS = {
    "get_unverified_header": "jwt.get_unverified_header(token)",
    "decode_without_signature": 'jwt.decode(token, options={"verify_signature": False})',
    "decode_complete": 'jwt.decode_complete(token, public_key, algorithms=["ES256"], audience=API)',
    "decode_without_exp": (
        'jwt.decode(token, public_key, algorithms=["ES256"], audience=API, '
        'options={"verify_exp": False})'
    ),
    "jws_decode": 'jwt.api_jws.decode(token, public_key, algorithms=["ES256"])',
    "decode_exp_only": (
        'jwt.decode(token, options={"verify_signature": False, "verify_exp": True})'
    ),
}

#: What a call can check.
CHECKS = ("signature", "exp", "aud")


def checks(call):
    """Return the set of what the call named ``call`` (a key of ``CALLS``) checks: a set of
    some of ``"signature"``, ``"exp"`` and ``"aud"``, or the empty set ``set()``."""
    raise NotImplementedError(
        "a call can only verify what it is given the means for: a signature needs a key and "
        "an algorithm list; claims (exp, aud) exist only for a JWT decoder, not for the JWS "
        "layer; and switching the signature check off switches the claim checks off too, "
        "unless one is asked for by name"
    )
