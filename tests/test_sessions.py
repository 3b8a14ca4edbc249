"""Chapter 1's sessions blueprint: cookie, store, revocation, CSRF, timeouts, admin control."""

from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie

import pytest

from labserver import PASSWORDS, start_lab
from labserver.session_records import (
    SESSION_ID_PATTERN,
    session_handle,
    session_key,
    user_sessions_key,
)
from labserver.users import user_key

IDLE, ABSOLUTE = 15 * 60, 8 * 3600


def login(lab, user="alice", client=None, **kwargs):
    """Log ``user`` in on ``client`` (default: a new one); returns (client, response)."""
    client = client or lab.client()
    response = client.post(
        "/session/login", json={"username": user, "password": PASSWORDS[user]}, **kwargs
    )
    assert response.status_code == 200, response.text
    return client, response


def set_cookie(response) -> SimpleCookie:
    cookie = SimpleCookie()
    cookie.load(response.headers["Set-Cookie"])
    return cookie


# --- the cookie and what the store holds ---


def test_login_sets_an_opaque_httponly_lax_cookie(lab):
    client, response = login(lab)
    morsel = set_cookie(response)["session"]
    assert SESSION_ID_PATTERN.fullmatch(morsel.value), "43 characters of URL-safe base64 (256 bits)"
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert not morsel["secure"], "plain HTTP: Secure would stop clients from sending it back"
    assert (
        "alice" not in morsel.value and "user" not in response.headers["Set-Cookie"].split(";")[0]
    )
    assert client.cookies["session"] == morsel.value


def test_the_store_holds_the_session_under_its_id(lab):
    client, response = login(lab, headers={"User-Agent": "laptop"})
    session_id = client.cookies["session"]
    record = lab.store.hgetall(session_key(session_id))
    assert record["user"] == "alice" and record["client"] == "laptop"
    assert float(record["created"]) == float(record["last_seen"]) == lab.clock.now()
    assert record["csrf"] == response.json()["csrf_token"]
    assert lab.store.smembers(user_sessions_key("alice")) == {session_id}
    ttl = lab.store.ttl(session_key(session_id))
    assert ABSOLUTE <= ttl <= ABSOLUTE + 60, (
        "the store's TTL only cleans up after the absolute timeout"
    )


def test_https_uses_a_secure_host_prefixed_cookie():
    with start_lab(redis_url="", replace=False, https=True) as lab:
        client, response = login(lab)
        morsel = set_cookie(response)["__Host-session"]
        assert morsel["secure"] is True and morsel["path"] == "/" and not morsel["domain"]
        assert client.get("/session/me").json()["username"] == "alice"


def test_samesite_is_configurable():
    with start_lab({"SESSION_SAMESITE": "Strict"}, redis_url="", replace=False) as lab:
        _, response = login(lab)
        assert set_cookie(response)["session"]["samesite"] == "Strict"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"username": "alice", "password": "nope"}, 401, "invalid_credentials"),
        ({"username": "mallory", "password": "x"}, 401, "invalid_credentials"),
        ({"username": "alice"}, 400, "invalid_request"),
        ({"username": ["alice"], "password": "x"}, 400, "invalid_request"),
    ],
)
def test_bad_logins_set_no_cookie(lab, body, status, error):
    response = lab.http.post("/session/login", json=body)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert "Set-Cookie" not in response.headers
    assert lab.store.keys("lab:session:*") == []


# --- using the session ---


def test_me_reads_the_store_on_every_request(lab):
    client, _ = login(lab)
    for _ in range(3):
        me = client.get("/session/me")
        assert me.json()["username"] == "alice" and me.json()["authenticated_by"] == "session"
    rows = lab.request_log.last(3)
    assert [r.store_round_trips for r in rows] == [2, 2, 2]
    assert all(r.credential.startswith("cookie session=") for r in rows)
    assert rows[0].credential_bytes == len("Cookie: session=") + 43


def test_no_cookie_no_session(lab):
    response = lab.http.get("/session/me")
    assert response.status_code == 401 and response.json()["error"] == "authentication_required"


@pytest.mark.parametrize("value", ["x", "A" * 44, "!" * 43, "%C3%BC" * 7 + "A"])
def test_malformed_cookie_is_refused_without_a_store_lookup(lab, value):
    client = lab.client()
    client.cookies.set("session", value)
    response = client.get("/session/me")
    assert response.status_code == 401 and response.json()["error"] == "invalid_session"
    assert lab.request_log.last()[0].store_round_trips == 0


def test_unknown_session_is_refused_and_the_cookie_cleared(lab):
    client = lab.client()
    client.cookies.set("session", "A" * 43)
    response = client.get("/session/me")
    assert response.json()["error"] == "invalid_session"
    assert "no such session" in response.json()["error_description"]
    assert set_cookie(response)["session"]["max-age"] == "0"


# --- revocation ---


def test_logout_revokes_at_once_even_for_a_copied_cookie(lab):
    client, response = login(lab)
    session_id = client.cookies["session"]
    thief = lab.client()
    thief.cookies.set("session", session_id)
    assert thief.get("/session/me").status_code == 200, "a copied cookie works like the original"
    out = client.post("/session/logout", headers={"X-CSRF-Token": response.json()["csrf_token"]})
    assert out.status_code == 200
    assert set_cookie(out)["session"]["max-age"] == "0"
    assert not lab.store.exists(session_key(session_id))
    replay = thief.get("/session/me")
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_session"


def test_login_rotates_the_session_id(lab):
    """No fixation: a session ID presented at login is deleted, never promoted."""
    attacker, _ = login(lab, "bob")
    planted = attacker.cookies["session"]
    victim = lab.client()
    victim.cookies.set("session", planted, domain="127.0.0.1", path="/")  # as if set by the site
    login(lab, "alice", client=victim)
    assert victim.cookies["session"] != planted
    assert not lab.store.exists(session_key(planted))
    assert attacker.get("/session/me").status_code == 401
    assert victim.get("/session/me").json()["username"] == "alice"


def test_logout_everywhere_ends_every_session_of_the_user_only(lab):
    alice = [login(lab, "alice")[0] for _ in range(3)]
    bob, _ = login(lab, "bob")
    token = alice[0].get("/session/me").json()["csrf_token"]
    response = alice[0].post("/session/logout-everywhere", headers={"X-CSRF-Token": token})
    assert response.json() == {"sessions_ended": 3}
    assert [c.get("/session/me").status_code for c in alice] == [401, 401, 401]
    assert bob.get("/session/me").status_code == 200
    assert not lab.store.exists(user_sessions_key("alice"))


# --- CSRF ---


@pytest.mark.parametrize(
    "path", ["/session/logout", "/session/logout-everywhere", "/session/profile"]
)
def test_cookie_authenticated_changes_need_the_csrf_token(lab, path):
    client, response = login(lab)
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        refused = client.post(path, json={"display_name": "Mallory"}, headers=headers)
        assert refused.status_code == 403 and refused.json()["error"] == "invalid_csrf_token"
    assert client.get("/session/me").status_code == 200, "a refused request changes nothing"
    ok = client.post(
        path,
        json={"display_name": "Alice L."},
        headers={"X-CSRF-Token": response.json()["csrf_token"]},
    )
    assert ok.status_code == 200


def test_csrf_applies_to_admin_changes_made_with_a_session(lab):
    admin, response = login(lab, "admin")
    refused = admin.put("/admin/users/bob/roles", json={"roles": ["user"]})
    assert refused.status_code == 403 and refused.json()["error"] == "invalid_csrf_token"
    ok = admin.put(
        "/admin/users/bob/roles",
        json={"roles": ["user"]},
        headers={"X-CSRF-Token": response.json()["csrf_token"]},
    )
    assert ok.status_code == 200 and ok.json()["roles"] == ["user"]


def test_safe_requests_need_no_token_and_basic_auth_is_not_cookie_based(lab):
    client, _ = login(lab)
    assert client.get("/session/me").status_code == 200
    basic = lab.http.post(
        "/session/profile", json={"display_name": "A"}, auth=("alice", PASSWORDS["alice"])
    )
    assert basic.status_code == 200


# --- timeouts, on the lab clock ---


def test_idle_timeout(lab):
    client, _ = login(lab)
    lab.clock.advance(IDLE - 1)
    assert client.get("/session/me").status_code == 200, "just under the idle limit: alive"
    lab.clock.advance(IDLE)
    response = client.get("/session/me")
    assert response.status_code == 401
    assert "idle for 15 min, idle limit 15 min" in response.json()["error_description"]


def test_absolute_timeout_ends_even_a_busy_session(lab):
    client, _ = login(lab)
    for _ in range(ABSOLUTE // 600 - 1):
        lab.clock.advance(600)
        assert client.get("/session/me").status_code == 200
    lab.clock.advance(600)
    response = client.get("/session/me")
    assert response.status_code == 401
    assert "8 h old, absolute limit 8 h" in response.json()["error_description"]


# --- central control ---


def test_admin_lists_sessions_by_handle_and_revokes_one(lab):
    laptop, _ = login(lab, headers={"User-Agent": "laptop"})
    phone, _ = login(lab, headers={"User-Agent": "phone"})
    admin = ("admin", PASSWORDS["admin"])
    listing = lab.http.get("/admin/users/alice/sessions", auth=admin).json()
    assert sorted(s["client"] for s in listing["sessions"]) == ["laptop", "phone"]
    handles = {s["client"]: s["handle"] for s in listing["sessions"]}
    assert handles["phone"] == session_handle(phone.cookies["session"])
    assert phone.cookies["session"] not in str(listing), "the admin sees handles, never session IDs"
    revoked = lab.http.delete(f"/admin/users/alice/sessions/{handles['phone']}", auth=admin)
    assert revoked.status_code == 200
    assert phone.get("/session/me").status_code == 401
    assert laptop.get("/session/me").status_code == 200
    again = lab.http.delete(f"/admin/users/alice/sessions/{handles['phone']}", auth=admin)
    assert again.status_code == 404


def test_session_admin_endpoints_need_the_admin_role(lab):
    assert (
        lab.http.get("/admin/users/alice/sessions", auth=("bob", PASSWORDS["bob"])).status_code
        == 403
    )
    assert (
        lab.http.get("/admin/users/nobody/sessions", auth=("admin", PASSWORDS["admin"])).status_code
        == 404
    )


def test_role_change_applies_on_the_next_session_request(lab):
    client, _ = login(lab)
    assert client.get("/session/me").json()["roles"] == ["user"]
    lab.http.put(
        "/admin/users/alice/roles",
        json={"roles": ["user", "editor"]},
        auth=("admin", PASSWORDS["admin"]),
    )
    assert client.get("/session/me").json()["roles"] == ["user", "editor"]


def test_deleted_user_ends_their_sessions(lab):
    client, _ = login(lab)
    lab.store.delete(user_key("alice"))
    assert client.get("/session/me").json()["error"] == "invalid_session"


# --- the store is the price ---


def test_store_outage_fails_closed(lab):
    client, _ = login(lab)
    with lab.store_outage():
        assert client.get("/session/me").status_code == 503
        assert (
            lab.client()
            .post("/session/login", json={"username": "bob", "password": PASSWORDS["bob"]})
            .status_code
            == 503
        )
    assert client.get("/session/me").status_code == 200


# --- concurrency ---


def test_parallel_logins_and_requests_never_mix_sessions(lab):
    users = ["alice", "bob", "admin"] * 8

    def one_user(user):
        client, _ = login(lab, user)
        seen = {client.get("/session/me").json()["username"] for _ in range(10)}
        return user, client.cookies["session"], seen

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(one_user, users))
    assert all(seen == {user} for user, _, seen in results), "a client saw another user's session"
    ids = [sid for _, sid, _ in results]
    assert len(set(ids)) == len(users), "every login got its own session"
    for user in ("alice", "bob", "admin"):
        mine = {sid for u, sid, _ in results if u == user}
        assert lab.store.smembers(user_sessions_key(user)) == mine, (
            "no session lost from the user's set"
        )
