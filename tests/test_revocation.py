"""Chapter 3: refresh rotation with reuse detection, token versions, the deny list, permission
re-checks, RFC 7009 revocation, RFC 7662 introspection, and the revocation-window experiment."""

from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest

from labserver import PASSWORDS, LabClock, start_lab
from labserver.experiments import revocation_window
from labserver.refresh_tokens import hash_token
from labserver.revocation import deny_key, deny_list_size
from labserver.store import is_embedded, lab_keys

ADMIN = ("admin", PASSWORDS["admin"])


@pytest.fixture
def lab(redis_url):
    """A lab with refresh tokens on and a frozen clock."""
    from labserver.store import connect, delete_lab_keys

    if redis_url:
        delete_lab_keys(connect(redis_url))
    with start_lab(
        {"REFRESH_TOKENS": True}, clock=LabClock.frozen(), redis_url=redis_url or "", replace=False
    ) as lab:
        yield lab
        assert lab.crashes == []
    if redis_url:
        delete_lab_keys(lab.store)


def tokens(lab, user="alice", **body):
    response = lab.http.post(
        "/oauth/token", json={"username": user, "password": PASSWORDS[user], **body}
    )
    assert response.status_code == 200, response.text
    return response.json()


def refresh(lab, refresh_token):
    return lab.http.post(
        "/oauth/token", json={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# --- refresh tokens ---


def test_refresh_tokens_are_off_unless_switched_on():
    with start_lab(redis_url="", replace=False) as plain:
        body = plain.http.post(
            "/oauth/token", json={"username": "alice", "password": PASSWORDS["alice"]}
        ).json()
        assert "refresh_token" not in body
        refused = plain.http.post(
            "/oauth/token", json={"grant_type": "refresh_token", "refresh_token": "x"}
        )
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_refresh_rotates_and_the_store_holds_only_hashes(lab):
    first = tokens(lab)["refresh_token"]
    second = refresh(lab, first).json()
    assert second["refresh_token"] != first and second["token_type"] == "Bearer"
    assert lab.http.get("/api/me", headers=bearer(second["access_token"])).status_code == 200
    everything = " ".join(lab_keys(lab.store))
    assert first not in everything and hash_token(first) in everything


def test_reuse_revokes_the_family_for_both_parties(lab):
    stolen = tokens(lab)["refresh_token"]
    victim = refresh(lab, stolen).json()["refresh_token"]  # the victim rotates first
    attacker = refresh(lab, stolen)
    assert attacker.status_code == 400 and attacker.json()["error"] == "invalid_grant"
    assert "reuse detected" in attacker.json()["error_description"]
    victims_next = refresh(lab, victim)
    assert (
        victims_next.status_code == 400
        and "family is revoked" in victims_next.json()["error_description"]
    )


def test_reuse_in_one_family_leaves_other_families_alone(lab):
    laptop, phone = tokens(lab)["refresh_token"], tokens(lab)["refresh_token"]
    refresh(lab, laptop)
    refresh(lab, laptop)  # reuse: the laptop's family is revoked
    assert refresh(lab, phone).status_code == 200


def test_parallel_refreshes_with_one_token_let_exactly_one_through(lab):
    token = tokens(lab)["refresh_token"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(r.status_code for r in pool.map(lambda _: refresh(lab, token), range(2)))
    assert statuses == [200, 400]


def test_refresh_family_expires_on_the_lab_clock(lab):
    token = tokens(lab)["refresh_token"]
    lab.clock.advance(24 * 3600)
    response = refresh(lab, token)
    assert response.status_code == 400 and "expired" in response.json()["error_description"]


@pytest.mark.parametrize(
    "body",
    [
        {"grant_type": "refresh_token"},
        {"grant_type": "refresh_token", "refresh_token": 5},
        {"grant_type": "implicit", "refresh_token": "x"},
    ],
)
def test_malformed_refresh_requests(lab, body):
    assert lab.http.post("/oauth/token", json=body).status_code == 400


@pytest.mark.parametrize("lifetime", [0, -5, 24 * 3600 + 1, "60", 1.5, True])
def test_lifetime_must_be_sensible(lab, lifetime):
    response = lab.http.post(
        "/oauth/token",
        json={"username": "alice", "password": PASSWORDS["alice"], "lifetime": lifetime},
    )
    assert response.status_code == 400 and "lifetime" in response.json()["error_description"]


# --- token version ---


def test_logout_everywhere_bumps_the_version_and_revokes_refresh_families(lab):
    body = tokens(lab)
    checked = "/api/me/version-checked"
    assert lab.http.get(checked, headers=bearer(body["access_token"])).status_code == 200
    out = lab.http.post("/oauth/logout-everywhere", headers=bearer(body["access_token"])).json()
    assert out == {"token_version": 2, "refresh_families_revoked": 1}
    refused = lab.http.get(checked, headers=bearer(body["access_token"]))
    assert refused.status_code == 401 and "version 1" in refused.json()["error_description"]
    assert lab.http.get("/api/me", headers=bearer(body["access_token"])).status_code == 200, (
        "an endpoint that checks only the signature still accepts it"
    )
    assert refresh(lab, body["refresh_token"]).status_code == 400
    assert lab.http.get(checked, headers=bearer(tokens(lab)["access_token"])).status_code == 200


def test_role_removal_bumps_the_version(lab):
    lab.http.put("/admin/users/bob/roles", json={"roles": ["user"]}, auth=ADMIN)  # bob loses editor
    old = tokens(lab, "bob")["access_token"]
    lab.http.put(
        "/admin/users/bob/roles", json={"roles": ["user", "editor"]}, auth=ADMIN
    )  # added: no bump
    assert lab.http.get("/api/me/version-checked", headers=bearer(old)).status_code == 200
    lab.http.put("/admin/users/bob/roles", json={"roles": ["editor"]}, auth=ADMIN)  # removed: bump
    assert lab.http.get("/api/me/version-checked", headers=bearer(old)).status_code == 401


# --- deny list ---


def test_revoking_an_access_token_denies_it_until_exp_plus_leeway(lab):
    token = tokens(lab, lifetime=300)["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    lab.clock.advance(100)
    assert lab.http.post("/oauth/revoke", json={"token": token}).status_code == 200
    refused = lab.http.get("/api/me/deny-checked", headers=bearer(token))
    assert refused.status_code == 401 and "deny list" in refused.json()["error_description"]
    assert lab.store.ttl(deny_key(claims["iss"], claims["jti"])) == 200 + 30
    lab.clock.advance(200 + 29)
    assert lab.http.get("/api/me/deny-checked", headers=bearer(token)).status_code == 401, (
        "inside the leeway the token would still pass: the entry must still be there"
    )
    if is_embedded(lab.store):  # a real Redis counts real seconds, not the lab's
        lab.clock.advance(2)
        assert deny_list_size(lab.store) == 0, "the entry leaves once the token can no longer pass"


def test_the_deny_list_stays_bounded(lab):
    if not is_embedded(lab.store):
        pytest.skip("a real Redis expires keys in real seconds, and this test moves the lab clock")
    sizes = []
    for _ in range(30):  # one revocation a minute, each token living 5 minutes
        token = tokens(lab, lifetime=300)["access_token"]
        lab.http.post("/oauth/revoke", json={"token": token})
        sizes.append(deny_list_size(lab.store))
        lab.clock.advance(60)
    assert max(sizes) <= 6 and sizes[-1] == 6, "(300 s + 30 s leeway) / 60 s: at most 6 alive"


def test_deny_list_check_costs_one_store_read(lab):
    token = tokens(lab)["access_token"]
    lab.http.get("/api/me/deny-checked", headers=bearer(token))
    lab.http.get("/api/me", headers=bearer(token))
    assert [r.store_round_trips for r in lab.request_log.last(2)] == [1, 0]


# --- permission re-check ---


def test_permission_recheck_applies_a_role_removal_at_once(lab):
    token = tokens(lab, "bob")["access_token"]  # bob is an editor
    for path in ("/api/reports", "/api/reports/from-token"):
        assert lab.http.get(path, headers=bearer(token)).status_code == 200
    lab.http.put("/admin/users/bob/roles", json={"roles": ["user"]}, auth=ADMIN)
    rechecked = lab.http.get("/api/reports", headers=bearer(token))
    assert (
        rechecked.status_code == 403
        and "re-checked in the store" in rechecked.json()["error_description"]
    )
    assert lab.http.get("/api/reports/from-token", headers=bearer(token)).status_code == 200, (
        "the token still says editor"
    )


# --- RFC 7009 and RFC 7662 ---


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 5000, "eyJhbGciOiJub25lIn0.e30."])
def test_revoke_answers_200_for_anything(lab, token):
    response = lab.http.post("/oauth/revoke", json={"token": token})
    assert response.status_code == 200 and response.json() == {}


def test_revoke_needs_a_token_field(lab):
    response = lab.http.post("/oauth/revoke", json={})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_revoking_a_refresh_token_ends_its_family(lab):
    first = tokens(lab)["refresh_token"]
    second = refresh(lab, first).json()["refresh_token"]
    assert lab.http.post("/oauth/revoke", json={"token": first}).status_code == 200
    assert refresh(lab, second).status_code == 400


def introspect(lab, token, auth=ADMIN):
    return lab.http.post("/oauth/introspect", json={"token": token}, auth=auth)


def test_introspection_of_active_tokens(lab):
    body = tokens(lab)
    access = introspect(lab, body["access_token"]).json()
    assert (
        access["active"] is True and access["sub"] == "alice" and access["token_type"] == "Bearer"
    )
    refresh_info = introspect(lab, body["refresh_token"]).json()
    assert refresh_info == {"active": True, "username": "alice", "exp": refresh_info["exp"]}


def test_revoke_and_introspect_take_form_bodies_as_the_rfcs_say(lab):
    token = tokens(lab)["access_token"]
    assert (
        lab.http.post("/oauth/introspect", data={"token": token}, auth=ADMIN).json()["active"]
        is True
    )
    assert lab.http.post("/oauth/revoke", data={"token": token}).status_code == 200
    assert lab.http.post("/oauth/introspect", data={"token": token}, auth=ADMIN).json() == {
        "active": False
    }


def test_introspection_says_inactive_and_nothing_more(lab):
    body = tokens(lab, lifetime=300)
    denied = tokens(lab)["access_token"]
    lab.http.post("/oauth/revoke", json={"token": denied})
    used = body["refresh_token"]
    refresh(lab, used)
    versioned = tokens(lab, "bob")["access_token"]
    lab.http.put("/admin/users/bob/roles", json={"roles": ["user"]}, auth=ADMIN)
    for token in ("garbage", denied, used, versioned):
        assert introspect(lab, token).json() == {"active": False}
    lab.clock.advance(400)
    assert introspect(lab, body["access_token"]).json() == {"active": False}


def test_introspection_is_for_authorized_callers(lab):
    token = tokens(lab)["access_token"]
    assert lab.http.post("/oauth/introspect", json={"token": token}).status_code == 401
    assert introspect(lab, token, auth=("bob", PASSWORDS["bob"])).status_code == 403


# --- the experiment ---


def test_revocation_window_experiment():
    results = {r.strategy: r for r in revocation_window.run()}
    immediate = [
        "server-side session",
        "JWT + deny list",
        "JWT + token-version check",
        "JWT + permission re-check",
    ]
    for name in immediate:
        assert results[name].window == 0 and results[name].worst_case == 0, name
    short = results["JWT, 5 min + refresh token"]
    assert 0 < short.window <= short.worst_case == 300 + 30
    for name in ("JWT, 60 min, signature only", "JWT, 60 min, roles from the token"):
        assert 0 < results[name].window <= results[name].worst_case == 3600 + 30
    assert results["server-side session"].round_trips_per_request == 2
    assert all(results[n].round_trips_per_request == 1 for n in immediate[1:])
    assert results["JWT, 60 min, signature only"].round_trips_per_request == 0
    assert "window" in revocation_window.table(list(results.values())).splitlines()[0]
    figure = revocation_window.plot(list(results.values()))
    labels = figure.axes[0].texts
    named = [line for t in labels for line in t.get_text().splitlines()]
    assert sorted(named) == sorted(results), "every strategy named once, by the point it measured"
    renderer = figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]), (
        "no label covers another"
    )
