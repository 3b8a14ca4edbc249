"""Exercise 06 · Rotate refresh tokens, and revoke the whole family when one is reused.

A refresh token is used once: using it gives a new one, of the same *family*. If a token that
was already used comes back, someone is replaying a stolen copy (the thief, or the victim after
the thief got there first): the server cannot tell which, so it revokes the whole family
(RFC 9700, section 4.14.2). The store keeps only hashes of tokens::

    token_key(token)    hash   family, user, used ("0" or "1")
    family_key(family)  hash   user, revoked ("0" or "1")

Check your work in the notebook with ``check("ex06")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex06_refresh_rotation.py --impl exercises``.
"""

import hashlib
import secrets


class RefreshRejected(Exception):
    """The refresh token cannot be used (given)."""


def token_key(token: str) -> str:
    """Where a token's record lives: under its SHA-256, never the token itself (given)."""
    return "lab:ex06:token:" + hashlib.sha256(token.encode()).hexdigest()


def family_key(family: str) -> str:
    """Where a family's record lives (given)."""
    return "lab:ex06:family:" + family


def issue(store, username, family=None):
    """A new refresh token for ``username``, in ``family`` or in a new family (given)."""
    if family is None:
        family = secrets.token_urlsafe(12)
        store.hset(family_key(family), mapping={"user": username, "revoked": 0})
    token = secrets.token_urlsafe(32)
    store.hset(token_key(token), mapping={"family": family, "user": username, "used": 0})
    return token


def rotate(store, token):
    """Use ``token`` once and return its successor (same family, same user).

    * unknown token → raise ``RefreshRejected``;
    * its family is revoked → raise ``RefreshRejected``;
    * it was used before → revoke its family (``revoked`` = 1), then raise ``RefreshRejected``;
    * otherwise mark it used and return ``issue(store, user, family)``.

    Two requests may rotate the same token at the same moment. "Read used, then set it" lets
    both through: marking the token used must be *one* store command whose answer tells each
    caller whether it was first (look through redis-py's hash commands for one that changes a
    field and returns its new value).
    """
    raise NotImplementedError(
        "follow the docstring's four rules in order: the token's record names its family and user, "
        "the family's record says whether it is revoked, and marking the token used is one atomic "
        "step (the docstring's last paragraph)"
    )
