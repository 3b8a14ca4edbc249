"""Exercise 13 · Crack a weak HS256 secret, then mint yourself an admin token.

An HS256 signature is HMAC-SHA256 over ``<header>.<payload>`` (the token's first two parts, as
they are) keyed with the secret. Anyone holding one token can test guesses offline: a guess is
right when its HMAC equals the token's third part, base64url-decoded. With a word from a list as
the secret, that takes milliseconds; with 32 random bytes, longer than the universe has.

Use ``hmac``, ``hashlib`` and PyJWT (``jwt.utils.base64url_decode``, ``jwt.encode``) rather than
implementing base64 or HMAC by hand. PyJWT warns (``InsecureKeyLengthWarning``) when you sign
with a short secret: rightly, and here on purpose; silence it with ``warnings.catch_warnings()``.

Check your work in the notebook with ``check("ex13")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex13_crack_weak_secret.py --impl exercises``.
"""


def crack(token, candidates):
    """Return the word in ``candidates`` (an iterable of str) that signs the HS256 ``token``,
    or None when no word does, when the header's ``alg`` is not HS256, or when ``token`` is not
    a token at all (never raise). Never verify claims here: only the signature decides."""
    raise NotImplementedError(
        "an HS256 signature is the HMAC-SHA256 of the token's first two parts as they are, keyed "
        "with the secret: a guess is right when its HMAC equals the decoded signature (compare in "
        "constant time); only an HS256 token can be cracked this way"
    )


def mint_admin(token, secret, now):
    """Return a new HS256 token signed with ``secret``: the claims of ``token`` with ``roles``
    set to ``["admin"]``, ``iat`` set to ``now`` and ``exp`` to ``now + 300`` (both int); its
    header keeps the original's ``typ`` (and ``kid``, if it had one)."""
    raise NotImplementedError(
        "start from the original token's claims and header (reading them needs no key), change "
        "what the task says, and sign again with the cracked secret: the server checks nothing "
        "else"
    )
