"""The store: embedded fakeredis by default, a real Redis from REDIS_URL, same code either way.

Every test here runs against whichever store the fixtures give (fakeredis locally; the real
Redis in CI's second pass). Tests marked ``redis`` check the real server specifically.
"""

import pytest
import redis

from labserver import PASSWORDS, start_lab
from labserver.store import connect, delete_lab_keys, describe, is_embedded, key, lab_keys, outage
from labserver.users import get_user, seed_demo_users, set_roles, user_key

ADMIN = ("admin", PASSWORDS["admin"])


def test_keys_are_namespaced():
    assert key("session", "abc") == "lab:session:abc"
    assert user_key("alice") == "lab:user:alice"


def test_default_store_is_embedded_and_private_to_each_lab():
    with (
        start_lab(redis_url="", replace=False) as one,
        start_lab(redis_url="", replace=False) as two,
    ):
        assert is_embedded(one.store) and describe(one.store) == "embedded fakeredis"
        one.store.set("lab:only-here", "1")
        assert two.store.get("lab:only-here") is None


def test_notebook_and_server_share_the_store(lab):
    """What the server writes, the notebook reads, and the other way round."""
    lab.http.put("/admin/users/alice/roles", auth=ADMIN, json={"roles": ["user", "editor"]})
    assert lab.store.hget(user_key("alice"), "roles") == "user editor"
    lab.store.hset(user_key("alice"), "roles", "user")
    assert lab.http.get("/whoami", auth=("alice", PASSWORDS["alice"])).json()["roles"] == ["user"]


def test_values_come_back_as_text(store):
    store.set(key("probe"), 42)
    assert store.get(key("probe")) == "42"


def test_seeding_keeps_existing_users(store):
    seed_demo_users(store)
    set_roles(store, "alice", ["user", "editor"])
    seed_demo_users(store)  # a second lab instance on the same store
    assert get_user(store, "alice").roles == ("user", "editor")


def test_delete_lab_keys_touches_only_lab_keys(store):
    store.set("not-the-lab", "keep me")
    store.set(key("x"), "1")
    try:
        delete_lab_keys(store)
        assert store.get("not-the-lab") == "keep me"
        assert lab_keys(store) == []
    finally:
        store.delete("not-the-lab")


def test_outage_is_a_real_connection_error_and_ends(store):
    store.set(key("x"), "1")
    with outage(store):
        with pytest.raises(redis.exceptions.ConnectionError):
            store.get(key("x"))
    assert store.get(key("x")) == "1"


def test_role_change_applies_on_the_next_request(lab):
    alice = ("alice", PASSWORDS["alice"])
    assert lab.http.get("/admin/users", auth=alice).status_code == 403
    response = lab.http.put(
        "/admin/users/alice/roles", auth=ADMIN, json={"roles": ["user", "admin"]}
    )
    assert response.json()["roles"] == ["user", "admin"]
    assert lab.http.get("/admin/users", auth=alice).status_code == 200
    lab.http.put("/admin/users/alice/roles", auth=ADMIN, json={"roles": ["user"]})
    assert lab.http.get("/admin/users", auth=alice).status_code == 403


def test_admin_lists_users_without_password_hashes(lab):
    users = lab.http.get("/admin/users", auth=ADMIN).json()["users"]
    assert [u["username"] for u in users] == ["admin", "alice", "bob"]
    assert all("password_hash" not in u for u in users)


@pytest.mark.redis
def test_real_redis_is_really_used(lab, redis_url):
    assert not is_embedded(lab.store)
    assert describe(lab.store).startswith("redis://127.0.0.1:")
    assert "redis_version" in lab.store.info("server")
    # A second, independent connection sees what the lab's server wrote.
    lab.http.put("/admin/users/bob/roles", auth=ADMIN, json={"roles": ["user"]})
    other = connect(redis_url)
    assert other.hget(user_key("bob"), "roles") == "user"
    other.close()


@pytest.mark.redis
def test_real_redis_outage_fails_closed(lab):
    with lab.store_outage():
        assert lab.http.get("/health/store").status_code == 503
    assert lab.http.get("/health/store").json()["store"] == describe(lab.store)


@pytest.mark.redis
def test_real_redis_ttl_is_real(store):
    store.set(key("ttl"), "1", px=1500)
    assert 0 < store.pttl(key("ttl")) <= 1500


def test_embedded_store_expires_keys_on_lab_time():
    from labserver.clock import LabClock

    clock = LabClock(frozen_at=1_800_000_000.0)
    store = connect(clock=clock)
    store.set(key("short"), "1", ex=60)
    store.set(key("long"), "1", ex=3600)
    assert store.ttl(key("short")) == 60
    clock.advance(59)
    assert store.ttl(key("short")) == 1
    clock.advance(1.001)  # like Redis, a key expires once its moment has passed
    assert store.get(key("short")) is None, "60 lab seconds later the key is gone"
    assert store.ttl(key("long")) == 3540  # TTL rounds to the nearest second, as in Redis
    assert lab_keys(store) == [key("long")]


def test_lab_store_follows_the_labs_clock(lab):
    if not is_embedded(lab.store):
        pytest.skip("a real Redis keeps real time")
    lab.store.set(key("x"), "1", ex=10)
    lab.clock.advance(10.001)
    assert lab.store.exists(key("x")) == 0
