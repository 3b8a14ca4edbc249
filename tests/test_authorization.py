"""Authorization from the store, deleted users, and a store that comes back empty.

The rule the article gives: sensitive authorization still checks server-side data. A token's
``roles`` claim says what the user could do when it was issued; ``require_role`` asks the store
what they may do now.
"""

import pytest

from labserver import PASSWORDS
from labserver.users import user_key


def token(lab, user, **extra):
    answer = lab.http.post(
        "/oauth/token", json={"username": user, "password": PASSWORDS[user], **extra}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def basic(user):
    return (user, PASSWORDS[user])


def signed_token(lab, **extra):
    """An access token for alice at token version 1, signed by the lab, with ``extra`` claims."""
    from labserver.access_tokens import access_token_claims, issue_access_token

    config = lab.app.config
    claims = access_token_claims(
        "alice",
        issuer=config["TOKEN_ISSUER"],
        now=lab.clock.now(),
        audience=config["TOKEN_AUDIENCE"],
        lifetime=300,
        extra={"token_version": 1, **extra},
    )
    return issue_access_token(lab.keys, claims)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/admin/users", None),
        ("PUT", "/admin/users/alice/roles", {"roles": ["user"]}),
        ("POST", "/admin/keys/rotate", {"alg": "ES256"}),
        ("DELETE", "/admin/keys/no-such-kid", None),
        ("POST", "/admin/users/restore-demo", None),
        ("GET", "/admin/users/alice/sessions", None),
        ("POST", "/oauth/introspect", {"token": "x"}),
    ],
)
def test_a_demoted_admins_valid_token_opens_no_admin_endpoint(lab, method, path, body):
    admin = token(lab, "admin", lifetime=24 * 3600)
    assert lab.http.get("/admin/users", headers=admin).status_code == 200
    assert lab.http.put(
        "/admin/users/admin/roles", json={"roles": ["user"]}, auth=basic("admin")
    ).ok
    answer = lab.http.request(method, path, json=body, headers=admin)
    # Removing a role bumps the token version, so the token is refused as revoked.
    assert answer.status_code == 401, answer.text
    assert "version" in answer.json()["error_description"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/admin/users", None),
        ("POST", "/admin/keys/rotate", {"alg": "ES256"}),
        ("POST", "/admin/users/restore-demo", None),
    ],
)
def test_a_token_whose_roles_claim_says_admin_is_not_enough(lab, method, path, body):
    """Signed by the lab, current version, roles claim ["admin"]: the store says alice is a user."""
    headers = {"Authorization": f"Bearer {signed_token(lab, roles=['user', 'admin'])}"}
    answer = lab.http.request(method, path, json=body, headers=headers)
    assert answer.status_code == 403 and "admin" in answer.json()["error_description"], answer.text


def test_a_logged_out_or_revoked_admin_token_opens_no_admin_endpoint(lab):
    admin = token(lab, "admin")
    lab.http.post("/oauth/revoke", data={"token": admin["Authorization"].split()[1]})
    answer = lab.http.get("/admin/users", headers=admin)
    assert answer.status_code == 401 and "deny list" in answer.json()["error_description"]
    other = token(lab, "admin")
    assert lab.http.post("/oauth/logout-everywhere", headers=other).ok
    assert (
        lab.http.put(
            "/admin/users/alice/roles", json={"roles": ["user"]}, headers=other
        ).status_code
        == 401
    )


def test_a_deleted_and_restored_user_gets_no_old_token_or_session_back(lab):
    bob_login = {"username": "bob", "password": PASSWORDS["bob"]}
    old_token = token(lab, "bob")
    session = lab.client()
    assert session.post("/session/login", json=bob_login).ok
    assert lab.http.post("/api/account/delete", headers=old_token).ok
    assert lab.http.post("/admin/users/restore-demo", auth=basic("admin")).ok
    assert lab.http.get("/api/me/version-checked", headers=old_token).status_code == 401
    assert lab.http.post("/api/account/delete", headers=old_token).status_code == 403
    assert session.get("/session/me").status_code == 401
    assert lab.http.post("/session/login", json=bob_login).ok, "the restored bob can log in"


def test_a_key_rotation_racing_a_retirement_never_leaves_a_kid_without_its_key():
    """Found by an attack pass: rotate published the kid before its RSA key existed, so a
    DELETE /admin/keys/<kid> in that window left RS256 with no current key (a 500 per token)."""
    import threading

    from labserver.keys import KeyRing

    ring, stop = KeyRing(), threading.Event()

    def retire_every_new_kid():
        while not stop.is_set():
            for kid in ring.kids:
                if kid.startswith("rs256-") and kid != "rs256-1":
                    try:
                        ring.retire(kid)
                    except ValueError:
                        pass  # the current key: refused, as it must be

    racer = threading.Thread(target=retire_every_new_kid)
    racer.start()
    try:
        for _ in range(4):
            ring.rotate("RS256")
            assert ring.current("RS256").kid in ring.kids
    finally:
        stop.set()
        racer.join()


def test_after_the_store_comes_back_empty_old_tokens_authorize_nothing(lab):
    """The deny list forgot its revocations; endpoints that authorize refuse every token from
    before the loss (a cut-off), so they fail closed where /api/me/deny-checked fails open."""
    from labserver.store import delete_lab_keys

    admin = token(lab, "admin")
    lab.http.post("/oauth/revoke", data={"token": admin["Authorization"].split()[1]})
    assert lab.http.get("/admin/users", headers=admin).status_code == 401
    delete_lab_keys(lab.store)
    assert (
        lab.http.post("/session/login", json={"username": "x", "password": "y"}).status_code == 401
    )
    answer = lab.http.get("/admin/users", headers=admin)
    assert (
        answer.status_code == 401
        and "lost its revocation data" in answer.json()["error_description"]
    )
    lab.clock.advance(1)
    assert lab.http.get("/admin/users", headers=token(lab, "admin")).status_code == 200, (
        "a new login works"
    )


@pytest.mark.parametrize("path", ["/session/login", "/oauth/token", "/bff/login"])
def test_a_login_racing_logout_everywhere_leaves_no_session_or_refresh_token(
    lab, monkeypatch, path
):
    """Found by an attack pass: a login whose password check ran before a deletion or a
    logout-everywhere wrote its session or refresh family after it, and they outlived it."""
    import labserver.auth as auth
    from labserver.refresh_tokens import family_key, user_families_key
    from labserver.session_records import session_key, user_session_ids
    from labserver.users import bump_token_version

    lab.app.config["REFRESH_TOKENS"] = True
    check = auth._check_password

    def check_then_log_out_everywhere(username, password):
        user = check(username, password)
        bump_token_version(lab.store, username)  # what a concurrent logout-everywhere does first
        return user

    monkeypatch.setattr(auth, "_check_password", check_then_log_out_everywhere)
    answer = lab.http.post(path, json={"username": "bob", "password": PASSWORDS["bob"]})
    assert (
        answer.status_code == 401
        and "changed during the login" in answer.json()["error_description"]
    )
    assert [s for s in user_session_ids(lab.store, "bob") if lab.store.exists(session_key(s))] == []
    families = lab.store.smembers(user_families_key("bob"))
    assert all(lab.store.hget(family_key(f), "revoked") == "1" for f in families)


def test_the_token_may_still_say_admin_where_the_chapter_shows_that_weakness(lab):
    editor = token(lab, "bob")
    assert lab.http.put("/admin/users/bob/roles", json={"roles": ["user"]}, auth=basic("admin")).ok
    assert lab.http.get("/api/reports/from-token", headers=editor).status_code == 200, (
        "trusts the claim"
    )
    assert lab.http.get("/api/reports", headers=editor).status_code == 403, "asks the store"


def test_a_deleted_user_stays_deleted_and_logins_stay_401(lab):
    bob = token(lab, "bob")
    assert lab.http.post("/api/account/delete", headers=bob).json()["deleted"] == "bob"
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
    assert "carol" not in [
        u["username"] for u in lab.http.get("/admin/users", auth=basic("admin")).json()["users"]
    ]


def test_demo_users_come_back_when_the_store_comes_back_empty(lab):
    from labserver.store import delete_lab_keys

    delete_lab_keys(lab.store)  # what a Redis restarted without persistence looks like
    answer = lab.http.post(
        "/session/login", json={"username": "alice", "password": PASSWORDS["alice"]}
    )
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
    token_ = signed_token(lab, active=False, token_type="x")
    answer = lab.http.post("/oauth/introspect", data={"token": token_}, auth=basic("admin"))
    assert answer.status_code == 200
    assert answer.json()["active"] is True and answer.json()["token_type"] == "Bearer"
