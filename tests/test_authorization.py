"""Authorization from the store, deleted users, and a store that comes back empty.

The rule the article gives: sensitive authorization still checks server-side data. A token's
``roles`` claim says what the user could do when it was issued; ``require_role`` asks the store
what they may do now.
"""

import pytest

from labserver import PASSWORDS
from labserver.users import user_key


def token(lab, user, **extra):
    answer = lab.http.post("/oauth/token", json={"username": user, "password": PASSWORDS[user], **extra})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def basic(user):
    return (user, PASSWORDS[user])


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/admin/users", None),
    ("PUT", "/admin/users/alice/roles", {"roles": ["user"]}),
    ("POST", "/admin/keys/rotate", {"alg": "ES256"}),
    ("DELETE", "/admin/keys/no-such-kid", None),
    ("POST", "/admin/users/restore-demo", None),
    ("GET", "/admin/users/alice/sessions", None),
    ("POST", "/oauth/introspect", {"token": "x"}),
])
def test_a_demoted_admins_valid_token_opens_no_admin_endpoint(lab, method, path, body):
    admin = token(lab, "admin", lifetime=24 * 3600)
    assert lab.http.get("/admin/users", headers=admin).status_code == 200
    assert lab.http.put("/admin/users/admin/roles", json={"roles": ["user"]}, auth=basic("admin")).ok
    answer = lab.http.request(method, path, json=body, headers=admin)
    assert answer.status_code == 403, answer.text
    assert "admin" in answer.json()["error_description"]


def test_the_token_may_still_say_admin_where_the_chapter_shows_that_weakness(lab):
    editor = token(lab, "bob")
    assert lab.http.put("/admin/users/bob/roles", json={"roles": ["user"]}, auth=basic("admin")).ok
    assert lab.http.get("/api/reports/from-token", headers=editor).status_code == 200, "trusts the claim"
    assert lab.http.get("/api/reports", headers=editor).status_code == 403, "asks the store"


def test_a_deleted_user_stays_deleted_and_logins_stay_401(lab):
    bob = token(lab, "bob")
    assert lab.http.post("/api/account/delete", headers=bob).json() == {"deleted": "bob"}
    answer = lab.http.post("/oauth/logout-everywhere", headers=bob)
    assert answer.status_code == 401 and "no longer exists" in answer.json()["error_description"]
    assert lab.store.exists(user_key("bob")) == 0, "no partial record was written"
    bob_login = {"username": "bob", "password": PASSWORDS["bob"]}
    assert lab.http.post("/session/login", json=bob_login).status_code == 401
    assert lab.http.post("/oauth/token", json=bob_login).status_code == 401
    assert lab.http.get("/whoami", auth=basic("bob")).status_code == 401
    profile = lab.http.post("/session/profile", json={"display_name": "ghost"}, headers=bob)
    assert profile.status_code == 401 and lab.store.exists(user_key("bob")) == 0
    assert lab.crashes == []


def test_a_record_without_a_password_hash_is_an_unknown_user(lab):
    lab.store.hset(user_key("carol"), "token_version", 3)  # what a stray HINCRBY would leave
    answer = lab.http.post("/session/login", json={"username": "carol", "password": "x"})
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_credentials"
    assert "carol" not in [u["username"] for u in lab.http.get("/admin/users", auth=basic("admin")).json()["users"]]


def test_demo_users_come_back_when_the_store_comes_back_empty(lab):
    from labserver.store import delete_lab_keys

    delete_lab_keys(lab.store)  # what a Redis restarted without persistence looks like
    answer = lab.http.post("/session/login", json={"username": "alice", "password": PASSWORDS["alice"]})
    assert answer.status_code == 200, answer.text


def test_a_deleted_demo_user_is_not_brought_back_by_the_reseed(lab):
    bob = token(lab, "bob")
    lab.http.post("/api/account/delete", headers=bob)
    answer = lab.http.post("/session/login", json={"username": "bob", "password": PASSWORDS["bob"]})
    assert answer.status_code == 401


def test_a_deny_list_that_loses_its_data_fails_open(lab):
    """What chapter 3 shows: the store is the deny list; a store restarted empty forgets it."""
    from labserver.store import delete_lab_keys

    alice = token(lab, "alice")
    lab.http.post("/oauth/revoke", data={"token": alice["Authorization"].split()[1]})
    assert lab.http.get("/api/me/deny-checked", headers=alice).status_code == 401
    delete_lab_keys(lab.store)
    assert lab.http.get("/api/me/deny-checked", headers=alice).status_code == 200


def test_introspection_answers_are_the_servers_not_the_tokens(lab):
    from labserver.access_tokens import access_token_claims, issue_access_token

    config = lab.app.config
    claims = access_token_claims("alice", issuer=config["TOKEN_ISSUER"], audience=config["TOKEN_AUDIENCE"],
                                 now=lab.clock.now(), lifetime=300, extra={"active": False, "token_type": "x",
                                                                           "token_version": 1})
    answer = lab.http.post("/oauth/introspect", data={"token": issue_access_token(lab.keys, claims)},
                           auth=basic("admin"))
    assert answer.status_code == 200
    assert answer.json()["active"] is True and answer.json()["token_type"] == "Bearer"
