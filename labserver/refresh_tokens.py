"""Refresh tokens: opaque, stored hashed, rotated on every use, revoked as a family on reuse.

RFC 9700 (OAuth 2.0 Security Best Current Practice) section 4.14.2: each refresh token is used
once; using it returns a new one of the same *family*. If an already-used token comes back,
either the client or an attacker is replaying a stolen copy, and the server cannot tell which,
so it revokes the whole family: the attacker's next refresh fails, and so does the victim's.

Store layout (only SHA-256 hashes of tokens are stored, so a store dump reveals none; unlike a
password, a token of 256 random bits needs no slow, salted hash)::

    lab:refresh:<sha256(token)>          hash  family, user, used ("0"/"1"), expires
    lab:refresh-family:<family>          hash  user, revoked ("0"/"1"), reason, created, issuer
    lab:user-refresh-families:<user>     set   the user's family IDs (for logout everywhere)

Expiry is decided against the lab clock; the store's TTLs only clean up.

``issuer`` names the system whose token endpoint a family belongs to: the lab's own
(:data:`LAB_ISSUER`, chapter 3) or chapter 04's identity provider, which share one store. Each
redeems and reports only its own families, so a provider's refresh token (bound to a client, maybe
to a DPoP key) is an unknown token at the lab's endpoint, and the other way round.
"""

from __future__ import annotations

import hashlib
import secrets

import redis

from .clock import LabClock
from .store import key

#: How long a refresh-token family may live after login (seconds).
DEFAULT_LIFETIME = 24 * 3600
#: The issuer of a family that names none: the lab's own token endpoint (chapter 3).
LAB_ISSUER = "lab"


class RefreshRejected(Exception):
    """A refresh token that cannot be used (an OAuth ``invalid_grant``); the message says why."""


def hash_token(token: str) -> str:
    """The SHA-256 of a refresh token, hex: what the store keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_key(token: str) -> str:
    return key("refresh", hash_token(token))


def family_key(family: str) -> str:
    return key("refresh-family", family)


def user_families_key(username: str) -> str:
    return key("user-refresh-families", username)


def issue_refresh_token(
    store: redis.Redis,
    clock: LabClock,
    username: str,
    *,
    family: str | None = None,
    expires: float | None = None,
    lifetime: int = DEFAULT_LIFETIME,
    issuer: str = LAB_ISSUER,
) -> str:
    """A new refresh token for ``username``: in a new family (at login) or in ``family``
    (at rotation, keeping the family's ``expires`` and ``issuer``)."""
    return issue_refresh_token_and_family(
        store,
        clock,
        username,
        family=family,
        expires=expires,
        lifetime=lifetime,
        issuer=issuer,
    )[0]


def issue_refresh_token_and_family(
    store: redis.Redis,
    clock: LabClock,
    username: str,
    *,
    family: str | None = None,
    expires: float | None = None,
    lifetime: int = DEFAULT_LIFETIME,
    issuer: str = LAB_ISSUER,
) -> tuple[str, str]:
    """As :func:`issue_refresh_token`, and the family's ID (new at login)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    pipe = store.pipeline(transaction=True)
    if family is None:
        family = secrets.token_urlsafe(12)
        expires = now + lifetime
        pipe.hset(
            family_key(family),
            mapping={
                "user": username,
                "revoked": 0,
                "reason": "",
                "created": now,
                "expires": expires,
                "issuer": issuer,
            },
        )
        pipe.expire(family_key(family), int(lifetime) + 60)
        pipe.sadd(user_families_key(username), family)
        pipe.expire(user_families_key(username), int(lifetime) + 60)
    ttl = max(1, int((expires or now) - now) + 60)
    pipe.hset(
        token_key(token),
        mapping={"family": family, "user": username, "used": 0, "expires": expires},
    )
    pipe.expire(token_key(token), ttl)
    pipe.execute()
    return token, family


def use_refresh_token(
    store: redis.Redis, clock: LabClock, token: str, issuer: str = LAB_ISSUER
) -> tuple[str, str]:
    """Rotate: consume ``token`` and return ``(username, new_token)`` of the same family.

    Raises :class:`RefreshRejected` for an unknown, expired or revoked token; for a token
    used before, it first revokes the whole family (reuse detection).
    """
    record = consume_refresh_token(store, clock, token, issuer)
    return record["user"], issue_refresh_token(
        store, clock, record["user"], family=record["family"], expires=float(record["expires"])
    )


def consume_refresh_token(
    store: redis.Redis, clock: LabClock, token: str, issuer: str = LAB_ISSUER
) -> dict:
    """Mark ``token`` used, once, and return its record (``family``, ``user``, ``expires``);
    the caller issues the next token of the family. Raises like :func:`use_refresh_token`; a
    token of another ``issuer``'s family is unknown here, and left as it is."""
    tkey = token_key(token)
    with store.pipeline(transaction=True) as pipe:
        # WATCH makes "check it is unused, then mark it used" one atomic step: of two parallel
        # refreshes with the same token, exactly one wins; the other sees it used.
        while True:
            try:
                pipe.watch(tkey)
                record = pipe.hgetall(tkey)
                if not record:
                    raise RefreshRejected("unknown refresh token (never issued, or cleaned up)")
                family = pipe.hgetall(family_key(record["family"]))
                if family and family.get("issuer", LAB_ISSUER) != issuer:
                    raise RefreshRejected("unknown refresh token (never issued, or cleaned up)")
                if not family or family.get("revoked") == "1":
                    raise RefreshRejected(
                        "the refresh token's family is revoked "
                        f"({family.get('reason') or 'logged out'})"
                    )
                if record["used"] == "1":
                    pipe.unwatch()
                    revoke_family(store, record["family"], "reuse of a rotated refresh token")
                    raise RefreshRejected(
                        "refresh token reuse detected: this token was already "
                        "used, so its whole family is now revoked"
                    )
                if clock.now() >= float(record["expires"]):
                    raise RefreshRejected("the refresh token has expired")
                pipe.multi()
                pipe.hset(tkey, "used", 1)
                pipe.execute()
                return record
            except redis.WatchError:
                continue


def revoke_family(store: redis.Redis, family: str, reason: str) -> bool:
    """Revoke every token of ``family``; True if the family existed."""
    if not store.exists(family_key(family)):
        return False
    store.hset(family_key(family), mapping={"revoked": 1, "reason": reason})
    return True


def revoke_refresh_token(store: redis.Redis, token: str, reason: str = "revoked") -> bool:
    """Revoke the family of ``token`` (RFC 7009: revoking a refresh token ends its grant)."""
    record = store.hgetall(token_key(token))
    return bool(record) and revoke_family(store, record["family"], reason)


def revoke_user_families(store: redis.Redis, username: str, reason: str) -> int:
    """Revoke every refresh-token family of ``username``; returns how many."""
    return sum(revoke_family(store, f, reason) for f in store.smembers(user_families_key(username)))


def refresh_token_state(
    store: redis.Redis, clock: LabClock, token: str, issuer: str = LAB_ISSUER
) -> dict | None:
    """What the store says about ``token`` (for introspection): None if it is not active, or
    not ``issuer``'s."""
    record = store.hgetall(token_key(token))
    if not record or record["used"] == "1" or clock.now() >= float(record["expires"]):
        return None
    family = store.hgetall(family_key(record["family"]))
    if not family or family.get("revoked") == "1" or family.get("issuer", LAB_ISSUER) != issuer:
        return None
    return {"username": record["user"], "exp": int(float(record["expires"]))}
