"""Exercise 07 · Revoke every token of a user at once, with a token version.

Each access token carries the user's ``token_version`` from the moment it was issued. The user's
current version is stored in their record (``user_key(username)``, field ``token_version``).
Bumping it (log out everywhere, a password change, a role removal) makes every older token fail
wherever the API checks the version: one store read per request, and no list of tokens at all.

Check your work in the notebook with ``check("ex07")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex07_token_version.py --impl exercises``.
"""

from labserver.users import user_key


class TokenRevoked(Exception):
    """The token's version is not the user's current one (given)."""


def bump_token_version(store, username):
    """Add one to the user's token version; return the new version (an int)."""
    raise NotImplementedError("store.hincrby(key, field, 1) adds one and returns the new value")


def check_token_version(store, claims):
    """Raise ``TokenRevoked`` unless the token's ``token_version`` claim is an int equal to the
    stored version of the user named by ``claims["sub"]`` (a missing user: ``TokenRevoked``)."""
    raise NotImplementedError(
        "current = store.hget(user_key(claims['sub']), 'token_version') is a str, or None for no "
        "user"
    )
