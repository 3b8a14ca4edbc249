"""Checks for exercise 07: the token-version check."""

import pytest

from labserver.users import seed_demo_users, user_key


@pytest.fixture
def users(store):
    seed_demo_users(store)  # alice, bob and admin, each at token_version 1
    return store


def passes(impl, store, claims):
    impl.check_token_version(store, claims)


def refused(impl, store, claims, hint):
    """``check_token_version`` must raise TokenRevoked; otherwise fail with ``hint``, showing what
    came back ("passed", or what was raised)."""
    try:
        impl.check_token_version(store, claims)
        came_back = "passed"
    except NotImplementedError:
        raise
    except impl.TokenRevoked:
        return
    except Exception as exc:  # noqa: BLE001
        came_back = type(exc).__name__
    assert came_back == "TokenRevoked", hint


def test_a_current_token_passes(impl, users):
    """A token at the user's current version passes."""
    impl.check_token_version(users, {"sub": "alice", "token_version": 1})


def test_bump_returns_the_new_version(impl, users):
    """Bumping adds one and returns the new version."""
    assert impl.bump_token_version(users, "alice") == 2, "store.hincrby returns the new value"
    assert impl.bump_token_version(users, "alice") == 3
    assert users.hget(user_key("bob"), "token_version") == "1", (
        "only the named user's version moves"
    )


def test_after_a_bump_older_tokens_fail(impl, users):
    """After a bump, a token of the old version is refused."""
    impl.bump_token_version(users, "alice")
    refused(
        impl,
        users,
        {"sub": "alice", "token_version": 1},
        "compare the claim with the stored version",
    )


def test_a_token_of_the_new_version_passes(impl, users):
    """After a bump, a token carrying the new version passes."""
    version = impl.bump_token_version(users, "alice")
    impl.check_token_version(users, {"sub": "alice", "token_version": version})


def test_other_users_tokens_are_untouched(impl, users):
    """Bumping alice's version does not affect bob's tokens."""
    impl.bump_token_version(users, "alice")
    impl.check_token_version(users, {"sub": "bob", "token_version": 1})


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "alice"},
        {"sub": "alice", "token_version": "1"},
        {"sub": "alice", "token_version": True},
    ],
    ids=["missing", "a string", "a boolean"],
)
def test_a_missing_or_mistyped_version_fails(impl, users, claims):
    """A token without an integer token_version is refused."""
    refused(
        impl,
        users,
        claims,
        "the claim must be an int equal to the stored version (careful: "
        "in Python, True is an int too: exclude bool explicitly)",
    )


def test_an_unknown_user_fails(impl, users):
    """A token for a user who no longer exists is refused."""
    refused(
        impl, users, {"sub": "mallory", "token_version": 1}, "hget returns None for no such user"
    )
