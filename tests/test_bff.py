"""Chapter 5's backend-for-frontend: the page, the cookie, the proxy, CSRF, logout, and the
sensitive action."""

from http.cookies import SimpleCookie

import jwt
import pytest

from labserver import PASSWORDS, LabClock, start_lab
from labserver.refresh_tokens import family_key, token_key
from labserver.session_records import session_key

CSRF = {"X-CSRF": "1"}
ADMIN = ("admin", PASSWORDS["admin"])


@pytest.fixture
def lab(redis_url):
    from labserver.store import connect, delete_lab_keys

    if redis_url:
        delete_lab_keys(connect(redis_url))
    with start_lab(clock=LabClock.frozen(), redis_url=redis_url or "", replace=False) as lab:
        yield lab
        assert lab.crashes == []
    if redis_url:
        delete_lab_keys(lab.store)


def browser_login(lab, user="alice"):
    browser = lab.client()
    response = browser.post(
        "/bff/login", data={"username": user, "password": PASSWORDS[user]}, allow_redirects=False
    )
    assert response.status_code == 303, response.text
    return browser, response


def test_the_page_runs_only_its_own_script(lab):
    page = lab.http.get("/bff/")
    assert page.status_code == 200 and "<form" in page.text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert lab.http.get("/bff/app.js").headers["Content-Type"].startswith("text/javascript")
    assert lab.http.get("/bff/app.css").status_code == 200


def test_form_login_sets_only_an_httponly_cookie(lab):
    browser, response = browser_login(lab)
    assert response.headers["Location"] == "/bff/"
    morsel = SimpleCookie(response.headers["Set-Cookie"])["bff"]
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and morsel["path"] == "/"
    assert "eyJ" not in response.text and "eyJ" not in str(response.headers), (
        "no token reaches the browser"
    )
    record = lab.store.hgetall(session_key(browser.cookies["bff"]))
    assert record["user"] == "alice" and record["refresh_token"], (
        "the refresh token stays on the server"
    )


def test_json_login_and_bad_logins(lab):
    assert (
        lab.http.post(
            "/bff/login", json={"username": "alice", "password": PASSWORDS["alice"]}
        ).status_code
        == 200
    )
    assert (
        lab.http.post("/bff/login", data={"username": "alice", "password": "x"}).status_code == 401
    )
    assert lab.http.post("/bff/login", data={"username": "alice"}).status_code == 400


def test_a_login_posted_from_another_origin_is_refused(lab):
    response = lab.http.post(
        "/bff/login",
        data={"username": "alice", "password": PASSWORDS["alice"]},
        headers={"Origin": "http://localhost:1234"},
        allow_redirects=False,
    )
    assert response.status_code == 403 and "Set-Cookie" not in response.headers


def test_the_proxy_calls_the_api_with_a_bearer_token_and_no_cookie(lab):
    browser, _ = browser_login(lab)
    response = browser.get("/bff/api/me", headers=CSRF)
    assert response.status_code == 200 and response.json()["sub"] == "alice"
    assert "eyJ" not in response.text, "the answer relayed to the browser holds no token"
    outer, renewal, inner = lab.request_log.last(3)
    assert (outer.path, renewal.path, inner.path) == ("/bff/api/me", "/oauth/token", "/api/me")
    assert outer.credential.startswith("cookie bff=") and "Bearer" not in outer.credential
    assert renewal.credential == "-", "the refresh token travels in the body, to the issuer only"
    assert inner.credential.startswith("Bearer eyJ") and "cookie" not in inner.credential
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-CSRF": "0"},
        {**CSRF, "Origin": "http://localhost:1234"},
        {**CSRF, "Sec-Fetch-Site": "cross-site"},
        {**CSRF, "Sec-Fetch-Site": "same-site"},
    ],
)
def test_the_proxy_refuses_what_could_be_forged(lab, headers):
    browser, _ = browser_login(lab)
    response = browser.get("/bff/api/me", headers=headers)
    assert response.status_code == 403 and response.json()["error"] == "invalid_csrf_token"
    assert lab.request_log.last()[0].path == "/bff/api/me", "no call reached the API"


@pytest.mark.parametrize(
    "path", ["../admin/users", "me/../../admin/users", "me%2f..%2f..%2fadmin", "me/%3Cscript%3E"]
)
def test_the_proxy_forwards_only_plain_api_paths(lab, path):
    browser, _ = browser_login(lab)
    response = browser.get(f"{lab.url}/bff/api/{path}", headers=CSRF)
    assert response.status_code in (400, 404)
    assert not any(r.path.startswith("/admin") for r in lab.request_log.entries)


def test_the_access_token_is_cached_until_shortly_before_expiry(lab):
    browser, _ = browser_login(lab)
    session = session_key(browser.cookies["bff"])
    browser.get("/bff/api/me", headers=CSRF)
    first = lab.store.hget(session, "access_token")
    lab.clock.advance(300 - 31)
    browser.get("/bff/api/me", headers=CSRF)
    assert lab.store.hget(session, "access_token") == first, "31 s left: still re-used"
    lab.clock.advance(1)
    browser.get("/bff/api/me", headers=CSRF)
    second = lab.store.hget(session, "access_token")
    assert second != first, "30 s left: replaced"
    assert jwt.decode(second, options={"verify_signature": False})["sub"] == "alice"


def test_logout_ends_the_session_and_its_refresh_tokens(lab):
    browser, _ = browser_login(lab)
    browser.get("/bff/api/me", headers=CSRF)
    session = session_key(browser.cookies["bff"])
    token, refresh = (
        lab.store.hget(session, "access_token"),
        lab.store.hget(session, "refresh_token"),
    )
    family = lab.store.hget(token_key(refresh), "family")
    out = browser.post("/bff/logout", headers=CSRF)
    assert out.status_code == 200 and "bff=;" in out.headers["Set-Cookie"]
    assert not lab.store.exists(session)
    assert lab.store.hget(family_key(family), "revoked") == "1"
    thief = lab.client()
    thief.cookies.set("bff", session.rsplit(":", 1)[1])
    assert thief.get("/bff/api/me", headers=CSRF).status_code == 401
    # An access token taken before the logout lives at most its short lifetime.
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    bearer = {"Authorization": f"Bearer {token}"}
    lab.clock.advance_to(exp + 29)
    assert lab.http.get("/api/me", headers=bearer).status_code == 200
    lab.clock.advance(1)
    assert lab.http.get("/api/me", headers=bearer).status_code == 401


def test_the_sensitive_action_rechecks_the_store(lab):
    browser, _ = browser_login(lab, "bob")
    assert browser.get("/bff/api/me", headers=CSRF).status_code == 200  # a token is now cached
    lab.http.put(
        "/admin/users/bob/roles", json={"roles": ["editor"]}, auth=ADMIN
    )  # suspended: no "user"
    assert browser.get("/bff/api/me", headers=CSRF).status_code == 200, (
        "the cached token still says user"
    )
    refused = browser.post("/bff/api/account/delete", headers=CSRF)
    assert (
        refused.status_code == 403
        and "re-checked in the store" in refused.json()["error_description"]
    )
    lab.http.put("/admin/users/bob/roles", json={"roles": ["user", "editor"]}, auth=ADMIN)
    stale = browser.post("/bff/api/account/delete", headers=CSRF)
    assert stale.status_code == 403 and "out of date" in stale.json()["error_description"], (
        "the role removal bumped the token version; the cached token is older"
    )
    lab.clock.advance(300)  # the BFF gets a fresh token
    assert browser.post("/bff/api/account/delete", headers=CSRF).json()["deleted"] == "bob"
    assert lab.http.get("/whoami", auth=("bob", PASSWORDS["bob"])).status_code == 401
    assert lab.http.post("/admin/users/restore-demo", auth=ADMIN).status_code == 200
    assert lab.http.get("/whoami", auth=("bob", PASSWORDS["bob"])).status_code == 200


def test_parallel_calls_renew_the_token_once(lab):
    """Four calls at once with the token about to expire: one renewal, no reuse detected."""
    from concurrent.futures import ThreadPoolExecutor

    browser, _ = browser_login(lab)
    browser.get("/bff/api/me", headers=CSRF)
    lab.clock.advance(300 - 20)
    cookie = {"Cookie": f"bff={browser.cookies['bff']}", **CSRF}
    with ThreadPoolExecutor(4) as pool:
        statuses = list(
            pool.map(
                lambda _: lab.client().get("/bff/api/me", headers=cookie).status_code, range(4)
            )
        )
    assert statuses == [200] * 4
    renewals = [r for r in lab.request_log.entries if r.path == "/oauth/token"]
    assert len(renewals) == 2 and all(r.status == 200 for r in renewals), (
        "login's first token, then one renewal"
    )


def test_a_refused_request_does_not_keep_the_session_alive(lab):
    browser, _ = browser_login(lab)
    lab.clock.advance(10 * 60)
    assert browser.get("/bff/api/me", headers={"X-CSRF": "0"}).status_code == 403
    lab.clock.advance(10 * 60)  # 20 min since the last real use: past the 15 min idle limit
    assert browser.get("/bff/api/me", headers=CSRF).status_code == 401


def test_a_new_login_ends_the_old_sessions_refresh_tokens(lab):
    from labserver.refresh_tokens import refresh_token_state

    browser, _ = browser_login(lab)
    old_refresh = lab.store.hget(session_key(browser.cookies["bff"]), "refresh_token")
    browser.post("/bff/login", data={"username": "bob", "password": PASSWORDS["bob"]})
    assert refresh_token_state(lab.store, lab.clock, old_refresh) is None


def test_only_json_is_relayed(lab):
    browser, _ = browser_login(lab)
    response = browser.get("/bff/api/no-such-endpoint", headers=CSRF)
    assert response.status_code == 404 and response.headers["Content-Type"] == "application/json"


def test_the_bff_trusts_its_own_address_not_the_host_header(lab):
    browser, _ = browser_login(lab)
    evil = {"Host": "127.0.0.1:9", **CSRF}
    response = browser.get("/bff/api/me", headers=evil)
    assert response.status_code == 200, "the API address comes from the lab, not from Host"
    assert all(r.path != "/api/me" or r.status == 200 for r in lab.request_log.entries)


def test_store_outage_fails_closed(lab):
    browser, _ = browser_login(lab)
    with lab.store_outage():
        assert browser.get("/bff/api/me", headers=CSRF).status_code == 503


def test_the_bff_cookie_follows_the_labs_one_cookie_policy(redis_url, clock):
    """SESSION_COOKIE_SECURE and SESSION_SAMESITE apply to the BFF's cookie as to chapter 1's."""
    lab = start_lab(
        {"SESSION_COOKIE_SECURE": True, "SESSION_SAMESITE": "Strict"},
        redis_url=redis_url or "",
        clock=clock,
        replace=False,
    )
    try:
        answer = lab.http.post(
            "/bff/login", json={"username": "alice", "password": PASSWORDS["alice"]}
        )
        cookie = answer.headers["Set-Cookie"]
        assert "Secure" in cookie and "SameSite=Strict" in cookie and "HttpOnly" in cookie
        session = lab.http.post(
            "/session/login", json={"username": "alice", "password": PASSWORDS["alice"]}
        )
        assert session.headers["Set-Cookie"].split(";")[1:] == cookie.split(";")[1:]
    finally:
        lab.stop()
