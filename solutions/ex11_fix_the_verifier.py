"""Exercise 11 · Find the bugs: a verifier that accepts tokens it should refuse.

This verifier "works": good tokens pass. It was written in a hurry, and the checks show which
forged or stale tokens it lets through. Fix it, keeping its signature. There are four bugs,
each one line; the casebook in notebook 06 shows each kind of failure.

Check your work in the notebook with ``check("ex11")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex11_fix_the_verifier.py --impl exercises``.
"""

import jwt


def verify(token, key, alg, *, audience, leeway=30):
    """Return the claims of ``token`` if it is signed with ``key`` using ``alg`` (the one
    algorithm that key is for), meant for ``audience``, not expired (give or take ``leeway``
    seconds), and carries ``exp`` and ``sub``. Otherwise raise ``jwt.InvalidTokenError``."""
    return jwt.decode(
        token,
        key,
        algorithms=[alg],
        audience=audience,
        leeway=leeway,
        options={"require": ["exp", "sub"]},
    )
