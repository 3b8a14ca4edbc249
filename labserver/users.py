"""Demo users: password hashes, roles and a per-user token version, kept in the store.

Roles and the token version are read from the store on every request that needs them, so an
admin's change (chapter 1: a role change; chapter 3: bumping the token version) takes effect on
the user's very next request.

The demo passwords are printed in the notebooks on purpose; the store only ever holds their
scrypt hashes (werkzeug.security), made once and committed below so that starting the lab
costs no hashing.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from werkzeug.security import check_password_hash

from .store import key

#: Every role the lab knows; an admin can give a user any subset.
ROLES = ("user", "editor", "admin")


@dataclass(frozen=True)
class DemoUser:
    """A seed user: the password is shown to learners, the hash goes into the store."""

    username: str
    password: str
    password_hash: str
    roles: tuple[str, ...]
    display_name: str


DEMO_USERS = (
    DemoUser(
        "alice", "wonderland",
        "scrypt:32768:8:1$sUpUWCc0Zo56pgA0$fe2b9fead18c95ac25cd2156bc5112a8ee3571eced96548d4fc764234491e3519daf12232bfcb36f7dee605a94c2ecfa0482d79b3b2f6d877c23bd6aed1debe1",
        ("user",), "Alice",
    ),
    DemoUser(
        "bob", "builder",
        "scrypt:32768:8:1$KioAj2nJ368VbYqY$4c3a2097971b896a227360c2b66aa675714efdd00d24dc855c6c9a8f6354c97e8d7f9d085f6916e1849399a8a4fba109a2261aa675f010a0f410d014ba45ae10",
        ("user", "editor"), "Bob",
    ),
    DemoUser(
        "admin", "root-of-trust",
        "scrypt:32768:8:1$ECAqQQjMVFZsLddL$1a782b8d7a475f4f8e7972ea8d2948690d23284111e7886e1eed85b75a8b6ae3049ad1974603de114dfe369ab8b7074d5b5d423cbbddf3b8aab01bdffc3ce91a",
        ("user", "admin"), "Lab Admin",
    ),
)

#: Usernames and passwords to log in with, for notebooks: ``PASSWORDS["alice"]``.
PASSWORDS = {u.username: u.password for u in DEMO_USERS}

# Checked when the username is unknown, so that a wrong username costs the same scrypt work
# as a wrong password and response times do not reveal which usernames exist.
_DUMMY_HASH = "scrypt:32768:8:1$Cjzt1Usy1lBmb2fn$33a989f1bdff3af654f3a2e185c6159f8a3652f765d8a30fd7e11be419a49274107a28483ef9bfcc373d339ea13d6a228ad81d5694805f46894ff915dbdda27a"


@dataclass(frozen=True)
class User:
    """A user as the store holds it right now."""

    username: str
    roles: tuple[str, ...]
    token_version: int
    display_name: str

    def has_role(self, role: str) -> bool:
        """True when ``role`` is one of this user's current roles."""
        return role in self.roles

    def to_json(self) -> dict:
        """The public fields, for API answers (never the password hash)."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "roles": list(self.roles),
            "token_version": self.token_version,
        }


def user_key(username: str) -> str:
    """Store key of a user's hash: ``lab:user:<username>``."""
    return key("user", username)


def seed_demo_users(store: redis.Redis) -> None:
    """Create the demo users, keeping any field already stored (HSETNX), so that several lab
    instances can share one real Redis without undoing each other's role changes."""
    pipe = store.pipeline(transaction=False)
    for demo in DEMO_USERS:
        fields = {"password_hash": demo.password_hash, "roles": " ".join(demo.roles),
                  "token_version": 1, "display_name": demo.display_name}
        for name, value in fields.items():
            pipe.hsetnx(user_key(demo.username), name, value)
    pipe.execute()


def user_from_record(username: str, record: dict[str, str]) -> User:
    """A :class:`User` from the hash stored at :func:`user_key`."""
    return User(
        username=username,
        roles=tuple(record.get("roles", "").split()),
        token_version=int(record.get("token_version", 1)),
        display_name=record.get("display_name", username),
    )


def get_user(store: redis.Redis, username: str) -> User | None:
    """The user as stored now, or None if there is no such user."""
    record = store.hgetall(user_key(username))
    return user_from_record(username, record) if record else None


def list_users(store: redis.Redis) -> list[User]:
    """Every user in the store, sorted by username."""
    prefix = user_key("")
    names = sorted(k[len(prefix):] for k in store.scan_iter(match=prefix + "*", count=500))
    return [u for u in (get_user(store, n) for n in names) if u is not None]


def check_password(store: redis.Redis, username: str, password: str) -> User | None:
    """The user if ``password`` is right, else None (same cost for unknown usernames)."""
    record = store.hgetall(user_key(username))
    if not record:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(record["password_hash"], password):
        return None
    return user_from_record(username, record)


def set_roles(store: redis.Redis, username: str, roles: list[str] | tuple[str, ...]) -> User | None:
    """Replace a user's roles; returns the updated user, or None if there is no such user.

    Removing any role also bumps the user's token version, so that tokens still carrying the
    old roles fail wherever the token version is checked (chapter 3). Unknown role names raise
    ``ValueError`` (the endpoint turns that into a 400).
    """
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; known roles: {', '.join(ROLES)}")
    before = get_user(store, username)
    if before is None:
        return None
    pipe = store.pipeline(transaction=True)
    pipe.hset(user_key(username), "roles", " ".join(r for r in ROLES if r in roles))
    if set(before.roles) - set(roles):
        pipe.hincrby(user_key(username), "token_version", 1)
    pipe.execute()
    return get_user(store, username)


def bump_token_version(store: redis.Redis, username: str) -> int:
    """Add one to the user's token version (every older token then fails) and return it."""
    return int(store.hincrby(user_key(username), "token_version", 1))
