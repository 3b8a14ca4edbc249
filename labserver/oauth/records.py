"""What the identity provider keeps in the lab's store, and for how long.

Store layout (every time is lab-clock seconds; TTLs only clean up)::

    lab:idp:code:<sha256(code)>     hash  client_id, redirect_uri, scope, user, nonce, auth_time,
                                          code_challenge, code_challenge_method, expires, used,
                                          grant (set when the code is exchanged)
    lab:idp:grant:<family>          hash  client_id, user, scope, auth_time, jkt: one login's
                                          grant; <family> is chapter 3's refresh-token family
    lab:idp:access:<jti>            hash  client_id, sub, scope, aud, exp, grant: each access
                                          token issued, for introspection
    lab:idp:revoked:<jti>           "1"   a revoked access token, until it would have expired

Refresh tokens themselves are chapter 3's (:mod:`labserver.refresh_tokens`): stored hashed,
rotated on each use, their family revoked on reuse. A grant is such a family plus what the
provider must remember about it (who, which client, which scopes).
"""

from __future__ import annotations

import hashlib
import json

import redis

from .. import refresh_tokens
from ..store import key

CODE_LIFETIME = 60  # seconds: RFC 6749 section 4.1.2 recommends at most 10 minutes


def _code_key(code: str) -> str:
    return key("idp", "code", hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest())


def grant_key(family: str) -> str:
    return key("idp", "grant", family)


def access_key(jti: str) -> str:
    return key("idp", "access", jti)


def revoked_key(jti: str) -> str:
    return key("idp", "revoked", jti)


class AuthorizationCode(dict):
    """A stored code, in the shape Authlib's code grant, PKCE and OIDC ask about."""

    def get_redirect_uri(self) -> str:
        return self["redirect_uri"]

    def get_scope(self) -> str:
        return self["scope"]

    def get_nonce(self) -> str | None:
        return self.get("nonce") or None

    def get_auth_time(self) -> int | None:
        return int(float(self["auth_time"])) if self.get("auth_time") else None

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd"]

    @property
    def code_challenge(self) -> str | None:
        return self.get("code_challenge") or None

    @property
    def code_challenge_method(self) -> str | None:
        return self.get("code_challenge_method") or None


def save_code(store: redis.Redis, code: str, record: dict, now: float) -> None:
    """Keep a new code for :data:`CODE_LIFETIME` seconds."""
    fields = {**{k: "" if v is None else v for k, v in record.items()}, "used": 0}
    fields["expires"] = now + CODE_LIFETIME
    pipe = store.pipeline(transaction=True)
    pipe.hset(_code_key(code), mapping=fields)
    pipe.expire(_code_key(code), CODE_LIFETIME * 10)  # kept past expiry to recognise a replay
    pipe.execute()


def read_code(store: redis.Redis, code: str) -> AuthorizationCode | None:
    """The code's record (used or not), or None if it was never issued."""
    record = store.hgetall(_code_key(code))
    return AuthorizationCode(record, code=code) if record else None


def mark_code_used(store: redis.Redis, code: str) -> bool:
    """Mark ``code`` exchanged, atomically: True for the first caller only."""
    ckey = _code_key(code)
    with store.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(ckey)
                if pipe.hget(ckey, "used") != "0":
                    pipe.unwatch()
                    return False
                pipe.multi()
                pipe.hset(ckey, "used", 1)
                pipe.execute()
                return True
            except redis.WatchError:
                continue


def link_code_to_grant(store: redis.Redis, code: str, grant: str) -> None:
    """Remember which grant a code's exchange started (so a replay can revoke it)."""
    store.hset(_code_key(code), "grant", grant)


def save_grant(store: redis.Redis, family: str, record: dict, lifetime: int) -> None:
    """Remember who a refresh-token family belongs to, and with which scopes."""
    pipe = store.pipeline(transaction=True)
    pipe.hset(grant_key(family), mapping={k: "" if v is None else v for k, v in record.items()})
    pipe.expire(grant_key(family), int(lifetime) + 60)
    pipe.execute()


def read_grant(store: redis.Redis, family: str) -> dict:
    return store.hgetall(grant_key(family))


def record_access_token(store: redis.Redis, claims: dict, grant: str | None, now: float) -> None:
    """Remember an issued access token by ``jti`` (for introspection and revocation)."""
    fields = {
        "client_id": claims["client_id"],
        "sub": claims["sub"],
        "scope": claims.get("scope", ""),
        "aud": json.dumps(claims["aud"]),
        "exp": claims["exp"],
        "grant": grant or "",
    }
    pipe = store.pipeline(transaction=False)
    pipe.hset(access_key(claims["jti"]), mapping=fields)
    pipe.expire(access_key(claims["jti"]), max(1, int(claims["exp"] - now)) + 60)
    pipe.execute()


def read_access_token(store: redis.Redis, jti: str) -> dict:
    return store.hgetall(access_key(jti))


def revoke_access_token(store: redis.Redis, jti: str, exp: float, now: float) -> None:
    """Deny ``jti`` until it would have expired anyway."""
    store.set(revoked_key(jti), 1, ex=max(1, int(exp - now)) + 60)


def access_token_revoked(store: redis.Redis, jti: str, grant: str | None) -> bool:
    """True when the token was revoked itself, or its grant (family) was."""
    pipe = store.pipeline(transaction=False)
    pipe.exists(revoked_key(jti))
    pipe.hget(refresh_tokens.family_key(grant), "revoked") if grant else pipe.echo("0")
    revoked, family_revoked = pipe.execute()
    return bool(revoked) or family_revoked == "1"


def revoke_grant(store: redis.Redis, family: str, reason: str) -> bool:
    """End a grant: its refresh tokens stop working, its access tokens introspect inactive."""
    return refresh_tokens.revoke_family(store, family, reason)
