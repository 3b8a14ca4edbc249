"""Demo users: hashed passwords, roles, token versions."""

import pytest
from werkzeug.security import check_password_hash

from labserver.users import (
    DEMO_USERS,
    ROLES,
    bump_token_version,
    check_password,
    get_user,
    list_users,
    seed_demo_users,
    set_roles,
    user_key,
)


@pytest.fixture
def seeded(store):
    seed_demo_users(store)
    return store


@pytest.mark.parametrize("demo", DEMO_USERS, ids=lambda d: d.username)
def test_committed_hash_matches_the_demo_password(demo):
    assert demo.password_hash.startswith("scrypt:")
    assert check_password_hash(demo.password_hash, demo.password)
    assert set(demo.roles) <= set(ROLES)


def test_store_holds_hashes_never_passwords(seeded):
    for demo in DEMO_USERS:
        record = seeded.hgetall(user_key(demo.username))
        assert demo.password not in record.values()
        assert record["password_hash"] == demo.password_hash


def test_check_password(seeded):
    assert check_password(seeded, "alice", "wonderland").username == "alice"
    assert check_password(seeded, "alice", "Wonderland") is None
    assert check_password(seeded, "nobody", "wonderland") is None


def test_set_roles_keeps_a_canonical_order_and_refuses_unknown_roles(seeded):
    assert set_roles(seeded, "alice", ["admin", "user"]).roles == ("user", "admin")
    with pytest.raises(ValueError, match="unknown role"):
        set_roles(seeded, "alice", ["root"])
    assert set_roles(seeded, "nobody", ["user"]) is None
    assert not seeded.exists(user_key("nobody"))


def test_token_version_starts_at_one_and_only_grows(seeded):
    assert get_user(seeded, "alice").token_version == 1
    assert bump_token_version(seeded, "alice") == 2
    assert get_user(seeded, "alice").token_version == 2


def test_list_users(seeded):
    assert [u.username for u in list_users(seeded)] == ["admin", "alice", "bob"]


def test_removing_a_role_bumps_the_token_version_adding_one_does_not(seeded):
    assert set_roles(seeded, "alice", ["user", "editor"]).token_version == 1
    assert set_roles(seeded, "alice", ["user"]).token_version == 2
