"""Revoking access tokens that are already out there: a deny list, and token versions.

A signed token stays valid until ``exp`` unless the API asks the store about it, which costs
a store read per request, the very thing JWTs were meant to avoid. Two ways to ask:

* **deny list**: revoke one token by its ``jti`` (keyed with its ``iss``, since jti values are
  only unique per issuer). The entry lives exactly as long as the API would still accept the
  token: its remaining lifetime *plus the leeway* (an API with 30 s of leeway accepts a token
  until 30 s after its ``exp``; an entry that left at ``exp`` would let it back in for those
  30 s). So the list never holds more than the tokens still alive.
* **token version**: each token carries the user's ``token_version``; bumping the user's
  version (log out everywhere, password change, role removal) makes every older token fail.
"""

from __future__ import annotations

import math

import redis

from .clock import LabClock
from .store import key, lab_keys
from .timefmt import iso
from .users import SEEDED_KEY, user_key


def deny_key(issuer: str, jti: str) -> str:
    """Store key of a deny-list entry: ``lab:deny:<iss>:<jti>``."""
    return key("deny", issuer, jti)


def deny(
    store: redis.Redis, clock: LabClock, claims: dict, *, leeway: float = 0, reason: str = "revoked"
) -> bool:
    """Put the token with these (verified) claims on the deny list until ``exp + leeway``.

    Returns False, storing nothing, when the token has no ``jti`` or can no longer be accepted.
    """
    remaining = float(claims.get("exp", 0)) + leeway - clock.now()
    if "jti" not in claims or remaining <= 0:
        return False
    store.set(deny_key(claims["iss"], claims["jti"]), reason, ex=max(1, math.ceil(remaining)))
    return True


def is_denied(store: redis.Redis, claims: dict) -> bool:
    """True when the token with these claims is on the deny list (one store read)."""
    return bool(store.exists(deny_key(claims.get("iss", ""), claims.get("jti", ""))))


def deny_list_size(store: redis.Redis) -> int:
    """How many tokens the deny list holds now."""
    return len(lab_keys(store, "deny:*"))


def token_version_problem(store: redis.Redis, claims: dict) -> str | None:
    """Why the token's ``token_version`` is no longer good, or None if it is current
    (one store read)."""
    return _version_problem(store.hget(user_key(str(claims.get("sub"))), "token_version"), claims)


def revocation_problem(store: redis.Redis, claims: dict) -> tuple[dict[str, str], str | None]:
    """The token's user as stored now, and why the token is revoked (deny list, token version,
    no such user, issued before the store lost its data), or None: in one round trip. What
    endpoints that authorize ask.

    A deny list kept in a store that comes back empty forgets every revocation (chapter 3,
    section 11). So a token issued up to the moment the lab found its store empty and seeded
    it again (the cut-off in :data:`~labserver.users.SEEDED_KEY`) is refused here: after a loss,
    authorizing needs a fresh login, which fails closed where the deny list alone fails open.
    """
    pipe = store.pipeline(transaction=False)
    pipe.hgetall(user_key(str(claims.get("sub"))))
    pipe.exists(deny_key(claims.get("iss", ""), claims.get("jti", "")))
    pipe.get(SEEDED_KEY)
    record, denied, seeded = pipe.execute()
    if "password_hash" not in record:
        return {}, "the token's user no longer exists"
    if denied:
        return record, "the token is on the deny list"
    if seeded is not None and claims.get("iat", 0) < int(seeded):
        return record, (
            "the token was issued before the store lost its revocation data "
            f"(found empty at {iso(int(seeded) - 1)}): log in again"
        )
    return record, _version_problem(record.get("token_version"), claims)


def _version_problem(current: str | None, claims: dict) -> str | None:
    if current is None:
        return "the token's user no longer exists"
    carried = claims.get("token_version")
    if not isinstance(carried, int) or isinstance(carried, bool):
        return "the token carries no token_version"
    if carried != int(current):
        return (
            f"the token is at version {carried}, and the user's tokens are now at version "
            f"{current} (logged out everywhere, or a role was removed)"
        )
    return None
