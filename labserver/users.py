"""Demo users: password hashes, roles and a per-user token version, kept in the store.

Roles and the token version are read from the store on every request that needs them, so an
admin's change (chapter 1: a role change; chapter 3: bumping the token version) takes effect on
the user's very next request.

The demo passwords are printed in the notebooks on purpose; the store only ever holds their
scrypt hashes (werkzeug.security), made once and committed below so that starting the lab
costs no hashing. Their cost parameter is N = 2**12 (``scrypt:4096:8:1``, about 13 ms to check
here) instead of werkzeug's default 2**15 (about 120 ms), because the notebooks and experiments
log in hundreds of times; ``check_password_hash`` reads the parameters from each stored hash, so
a real deployment's stronger hashes would be checked the same way.
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
        "alice",
        "wonderland",
        "scrypt:4096:8:1$hXGo7XO6oxCKGBg1$3d46ad22253543464c567dcd2d8c0712ef902ac9448559894a80d7eddcac221255e37bc494f1fa352696698d0502037112eccc88aad2eea144dd19b25dc19262",
        ("user",),
        "Alice",
    ),
    DemoUser(
        "bob",
        "builder",
        "scrypt:4096:8:1$9TZCXxFaK6LWPwIX$4f17672dee2a61c2144ca95b83ed4f715d4a402da0741b322e9bbd873d1bd62a5987ea4d3181d0375e237c700957c91a91010300d0230ae8c4af5d6b7ef54a34",
        ("user", "editor"),
        "Bob",
    ),
    DemoUser(
        "admin",
        "root-of-trust",
        "scrypt:4096:8:1$kE5duwc6zmT9JtjC$6116aafa62a4e9278e507f4ba1c808b49d3686971280dfce7dc0b3c4ff6681036d5a6ac032a3cafce7dfd4765101dd54c76e2c297a2a574607d11c1d56d6152d",
        ("user", "admin"),
        "Lab Admin",
    ),
)

#: Usernames and passwords to log in with, for notebooks: ``PASSWORDS["alice"]``.
PASSWORDS = {u.username: u.password for u in DEMO_USERS}

# Checked when the username is unknown, so that a wrong username costs the same scrypt work
# as a wrong password and response times do not reveal which usernames exist.
_DUMMY_HASH = (
    "scrypt:4096:8:1$5TIYqeFuK7cfUL53$06708abea2772ba9a3ee687b35a52615023e84b99e76ab6cb77b44892e17"
    "e2bb35a0370797789e1b52ea33ba0e91b3f56e83153de304930d14285931b9b321dd"
)


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


#: Written when the demo users are first seeded into an empty store: its absence means the store
#: lost its data. It holds a cut-off (epoch seconds): tokens issued before it predate a loss of
#: revocation data (0 when the lab started on an empty store; see
#: :func:`labserver.revocation.revocation_problem`).
SEEDED_KEY = key("demo-users-seeded")


def tombstone_key(username: str) -> str:
    """Store key of a deleted user's last token version: ``lab:deleted-user:<username>``."""
    return key("deleted-user", username)


#: How long a deleted user's last token version is remembered: longer than any token lives.
TOMBSTONE_TTL = 2 * 24 * 3600


def seed_demo_users(store: redis.Redis, cutoff: int = 0) -> None:
    """Create the demo users that are missing, and leave existing ones as they are, so that
    several lab instances can share one real Redis without undoing each other's role changes.

    Each is created in one transaction (never half a record), with a token version above the
    last one a deleted user of that name had: tokens revoked before a deletion stay revoked
    after the user is restored. ``cutoff`` goes into :data:`SEEDED_KEY` unless one is there.
    """
    for demo in DEMO_USERS:
        user, tombstone = user_key(demo.username), tombstone_key(demo.username)

        def create(pipe, demo=demo, user=user, tombstone=tombstone) -> None:
            if "password_hash" in pipe.hgetall(user):
                return
            version = int(pipe.get(tombstone) or 0) + 1
            pipe.multi()
            pipe.delete(user)  # a record without a hash is no user: replaced whole
            pipe.hset(
                user,
                mapping={
                    "password_hash": demo.password_hash,
                    "roles": " ".join(demo.roles),
                    "token_version": version,
                    "display_name": demo.display_name,
                },
            )

        store.transaction(create, user, tombstone)
    store.set(SEEDED_KEY, int(cutoff), nx=True)


def delete_user(store: redis.Redis, username: str, *, remember_for: int = TOMBSTONE_TTL) -> bool:
    """Delete the user; False if there was none. The last token version is kept for
    ``remember_for`` seconds (:func:`tombstone_key`; longer than any token lives), so a user
    re-created under the same name starts above it."""

    def delete(pipe, record: dict[str, str]) -> None:
        pipe.set(tombstone_key(username), record.get("token_version", "1"), ex=remember_for)
        pipe.delete(user_key(username))

    done = update_existing_user(store, username, delete)
    return done is not None


def user_from_record(username: str, record: dict[str, str]) -> User:
    """A :class:`User` from the hash stored at :func:`user_key`."""
    return User(
        username=username,
        roles=tuple(record.get("roles", "").split()),
        token_version=int(record.get("token_version", 1)),
        display_name=record.get("display_name", username),
    )


def get_user(store: redis.Redis, username: str) -> User | None:
    """The user as stored now, or None if there is no such user (a record without a password
    hash is no user: it is what a write to a deleted user would leave)."""
    record = store.hgetall(user_key(username))
    return user_from_record(username, record) if "password_hash" in record else None


def list_users(store: redis.Redis) -> list[User]:
    """Every user in the store, sorted by username."""
    prefix = user_key("")
    names = sorted(k[len(prefix) :] for k in store.scan_iter(match=prefix + "*", count=500))
    return [u for u in (get_user(store, n) for n in names) if u is not None]


def check_password(
    store: redis.Redis, username: str, password: str, *, reseed_at: float | None = None
) -> User | None:
    """The user if ``password`` is right, else None (same cost for unknown usernames).

    With ``reseed_at`` (now, on the lab clock), a store that has lost every key since the demo
    users were seeded (a Redis restarted without persistence: :data:`SEEDED_KEY` is gone) gets
    them again first; every token issued up to that second then predates the loss. Deleted
    users stay deleted otherwise. The marker is read in the same round trip as the user.
    """
    pipe = store.pipeline(transaction=False)
    pipe.hgetall(user_key(username))
    pipe.exists(SEEDED_KEY)
    record, seeded = pipe.execute()
    if reseed_at is not None and not seeded:
        seed_demo_users(store, cutoff=int(reseed_at) + 1)
        record = store.hgetall(user_key(username))
    if "password_hash" not in record:
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

    def replace_roles(pipe, before: dict[str, str]) -> None:
        pipe.hset(user_key(username), "roles", " ".join(r for r in ROLES if r in roles))
        if set(before.get("roles", "").split()) - set(roles):
            pipe.hincrby(user_key(username), "token_version", 1)

    if update_existing_user(store, username, replace_roles) is None:
        return None
    return get_user(store, username)


def bump_token_version(store: redis.Redis, username: str) -> int | None:
    """Add one to the user's token version (every older token then fails) and return it;
    None if there is no such user (nothing is written then)."""
    done = update_existing_user(
        store, username, lambda pipe, _: pipe.hincrby(user_key(username), "token_version", 1)
    )
    return None if done is None else int(done[-1])


def set_display_name(store: redis.Redis, username: str, name: str) -> User | None:
    """Change the user's display name; None if there is no such user (nothing is written)."""
    done = update_existing_user(
        store, username, lambda pipe, _: pipe.hset(user_key(username), "display_name", name)
    )
    return None if done is None else get_user(store, username)


def update_existing_user(store: redis.Redis, username: str, change) -> list | None:
    """Apply ``change(pipe, record)`` to the user's record in one transaction, only if the user
    exists when it commits (WATCH/MULTI/EXEC, retried on a concurrent change); the results of
    the transaction's commands, or None when there is no such user.

    A plain HSET or HINCRBY on a deleted user's key would create a record with no password
    hash: a half user that every later login trips over.
    """
    user, exists = user_key(username), []

    def attempt(pipe) -> None:
        record = pipe.hgetall(user)
        exists[:] = ["password_hash" in record]
        if exists[0]:
            pipe.multi()
            change(pipe, record)

    results = store.transaction(attempt, user)  # redis-py's WATCH/MULTI/EXEC retry loop
    return results if exists[0] else None
