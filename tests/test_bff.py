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


# --- With chapter 04's identity provider: the BFF as a confidential client (code flow) ---

import base64  # noqa: E402
import json  # noqa: E402
from urllib.parse import parse_qs, urlsplit  # noqa: E402

from labserver.oauth.bff_client import ConfidentialClient, LoginRefused, at_hash  # noqa: E402
from labserver.oauth.clients import CLIENT_SECRETS  # noqa: E402
from labserver.oauth.native_app import NativeApp, s256  # noqa: E402


@pytest.fixture
def fed(redis_url):
    from labserver.store import connect, delete_lab_keys

    if redis_url:
        delete_lab_keys(connect(redis_url))
    with start_lab(
        clock=LabClock.frozen(), redis_url=redis_url or "", replace=False, identity_provider=True
    ) as lab:
        yield lab
        for system in (lab, lab.idp, lab.orders):
            assert system.crashes == []
    if redis_url:
        delete_lab_keys(lab.store)


def start_sign_in(lab, browser=None):
    """GET /bff/login; the browser, the redirect and the authorization request's parameters."""
    browser = browser or lab.client("browser")
    start = browser.get("/bff/login", allow_redirects=False)
    assert start.status_code == 302, start.text
    params = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["Location"]).query).items()}
    return browser, start, params


def sign_in_at_idp(browser, location, user="alice", decision="allow"):
    """The browser's part at the provider: the page, then its form; the redirect back."""
    assert browser.get(location, allow_redirects=False).status_code == 200
    answer = browser.post(
        location,
        data={"username": user, "password": PASSWORDS[user], "decision": decision},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def idp_login(lab, user="alice"):
    browser, start, _ = start_sign_in(lab)
    back = sign_in_at_idp(browser, start.headers["Location"], user)
    done = browser.get(back, allow_redirects=False)
    assert done.status_code == 303, done.text
    return browser, done


def test_behind_a_hubs_proxy_the_idp_sign_in_says_why_it_cannot_start(fed):
    """The provider and the registered redirect_uri are loopback addresses: no dead redirect."""
    proxied = {"X-Forwarded-Prefix": "/user/alice/proxy/8000"}
    r = fed.client().get("/bff/login", headers=proxied, allow_redirects=False)
    assert r.status_code == 503 and "Location" not in r.headers
    assert r.json()["error_description"].startswith(
        f"this BFF's identity provider is at {fed.idp.url}, which a browser behind a proxy's"
    )
    assert fed.client().get("/bff/login", allow_redirects=False).status_code == 302


def test_idp_login_starts_the_code_flow_with_pkce_and_keeps_the_verifier_server_side(fed):
    browser, start, params = start_sign_in(fed)
    assert start.headers["Location"].startswith(fed.idp.url + "/oauth2/authorize?")
    assert params["client_id"] == "bff" and params["response_type"] == "code"
    assert params["redirect_uri"] == fed.url + "/bff/callback"
    assert params["code_challenge_method"] == "S256" and params["state"] and params["nonce"]
    morsel = SimpleCookie(start.headers["Set-Cookie"])["bff-login"]
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and int(morsel["max-age"]) == 600
    saved = fed.store.hgetall(f"lab:bff-login:{browser.cookies['bff-login']}")
    assert saved["state"] == params["state"] and saved["nonce"] == params["nonce"]
    assert s256(saved["code_verifier"]) == params["code_challenge"], "PKCE S256"
    assert saved["code_verifier"] not in start.headers["Location"], "the verifier never leaves"


def test_idp_login_lands_back_logged_in_and_the_proxy_calls_orders(fed):
    browser, done = idp_login(fed)
    assert done.headers["Location"] == "/bff/"
    assert "eyJ" not in done.text and "eyJ" not in str(done.headers), "no token in the browser"
    assert "bff-login" not in browser.cookies, "the pre-login cookie is cleared"
    record = fed.store.hgetall(session_key(browser.cookies["bff"]))
    assert record["user"] == "alice" and record["issuer"] == fed.idp.url
    claims = jwt.decode(record["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "orders" and claims["client_id"] == "bff"
    token_call = [e for e in fed.idp.request_log.entries if e.path == "/oauth2/token"][-1]
    assert token_call.credential == "Basic bff" and token_call.agent == "bff"

    assert browser.get("/bff/me", headers=CSRF).json()["username"] == "alice"
    orders = browser.get("/bff/api/orders", headers=CSRF)
    assert orders.status_code == 200 and orders.json()["client_id"] == "bff"
    assert {o["id"] for o in orders.json()["orders"]} == {"A-1001", "A-1002"}
    hop = fed.orders.request_log.entries[-1]
    assert hop.path == "/orders" and hop.credential.startswith("Bearer eyJ")


def test_with_an_idp_the_password_shortcut_is_refused(fed):
    assert fed.client().get("/bff/login-options").json()["method"] == "authorization_code"
    r = fed.client().post("/bff/login", data={"username": "alice", "password": PASSWORDS["alice"]})
    assert r.status_code == 403 and "RFC 9700" in r.json()["error_description"]


def test_without_an_idp_the_code_flow_endpoints_say_so(lab):
    assert lab.client().get("/bff/login-options").json()["method"] == "password"
    for path in ("/bff/login", "/bff/callback?code=x&state=y"):
        r = lab.client().get(path, allow_redirects=False)
        assert r.status_code == 404 and r.json()["error"] == "not_found", path


def test_a_state_mismatch_is_refused(fed):
    browser, start, _ = start_sign_in(fed)
    back = sign_in_at_idp(browser, start.headers["Location"])
    forged = back.replace("state=", "state=x")
    r = browser.get(forged, allow_redirects=False)
    assert r.status_code == 400 and "state mismatch" in r.json()["error_description"]
    assert "bff" not in browser.cookies
    # The pre-login record was used up: the genuine redirect cannot be replayed after it.
    r = browser.get(back, allow_redirects=False)
    assert r.status_code == 400 and "no sign-in is in progress" in r.json()["error_description"]


def test_a_redirect_into_a_browser_that_started_no_sign_in_is_refused(fed):
    browser, start, _ = start_sign_in(fed)
    back = sign_in_at_idp(browser, start.headers["Location"])
    victim = fed.client("victim")  # login CSRF: the attacker's code, in another browser
    r = victim.get(back, allow_redirects=False)
    assert r.status_code == 400 and "no sign-in is in progress" in r.json()["error_description"]
    assert "bff" not in victim.cookies


@pytest.mark.parametrize(
    "change, error, status, says",
    [
        (lambda q: {**q, "iss": "http://127.0.0.1:1"}, "invalid_request", 400, "RFC 9207"),
        (lambda q: {k: v for k, v in q.items() if k != "code"}, "invalid_request", 400, "no code"),
        (lambda q: {**q, "code": q["code"] + "x"}, "invalid_grant", 400, "refused"),
    ],
    ids=["another issuer", "missing code", "refused code"],
)
def test_a_bad_redirect_is_refused_with_4xx_json(fed, change, error, status, says):
    from urllib.parse import urlencode

    browser, start, _ = start_sign_in(fed)
    back = urlsplit(sign_in_at_idp(browser, start.headers["Location"]))
    query = {k: v[0] for k, v in parse_qs(back.query).items()}
    r = browser.get(f"/bff/callback?{urlencode(change(query))}", allow_redirects=False)
    assert (r.status_code, r.json()["error"]) == (status, error), r.text
    assert says in r.json()["error_description"]
    assert "bff" not in browser.cookies


def test_the_users_denial_comes_back_as_access_denied(fed):
    browser, start, _ = start_sign_in(fed)
    back = sign_in_at_idp(browser, start.headers["Location"], decision="deny")
    r = browser.get(back, allow_redirects=False)
    assert r.status_code == 403 and r.json()["error"] == "access_denied"


def test_the_idp_down_is_a_503(fed):
    browser, start, _ = start_sign_in(fed)
    back = sign_in_at_idp(browser, start.headers["Location"])
    fed.idp.stop()
    r = browser.get(back, allow_redirects=False)
    assert r.status_code == 503 and r.json()["error"] == "service_unavailable"
    fed.app.extensions.pop("lab.bff-client")  # forget the metadata fetched while it was up
    r = fed.client().get("/bff/login", allow_redirects=False)
    assert r.status_code == 503 and "cannot be reached" in r.json()["error_description"]


def test_the_id_token_is_checked_rule_by_rule(fed):
    client = ConfidentialClient(fed.idp.url, clock=fed.clock)
    browser, start, params = start_sign_in(fed)
    back = sign_in_at_idp(browser, start.headers["Location"])
    code = parse_qs(urlsplit(back).query)["code"][0]
    saved = fed.store.hgetall(f"lab:bff-login:{browser.cookies['bff-login']}")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": fed.url + "/bff/callback",
        "code_verifier": saved["code_verifier"],
    }
    tokens = client.token_request(form)
    assert client.id_token_claims(tokens, params["nonce"])["sub"] == "alice"
    id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert id_claims["at_hash"] == at_hash(tokens["access_token"])

    def refused(tokens, nonce=params["nonce"]):
        with pytest.raises(LoginRefused) as caught:
            client.id_token_claims(tokens, nonce)
        return str(caught.value)

    assert "nonce" in refused(tokens, nonce="another-login")
    assert "kid" in refused({**tokens, "id_token": jwt.encode({"sub": "x"}, "k" * 32)})
    assert "at_hash" in refused({**tokens, "access_token": "eyJanother"})
    header, payload, signature = tokens["id_token"].split(".")
    other = base64.urlsafe_b64encode(json.dumps({**id_claims, "sub": "admin"}).encode())
    forged = f"{header}.{other.rstrip(b'=').decode()}.{signature}"
    assert "Signature" in refused({**tokens, "id_token": forged})
    app = NativeApp(fed.idp)  # a genuine ID token of the same provider, for another client
    auth = app.authorization_request()
    theirs = app.exchange(auth, app.sign_in(auth, "alice", PASSWORDS["alice"]))
    assert "udience" in refused(theirs, nonce=auth.nonce)
    fed.clock.advance(300 + 31)
    assert "expired" in refused(tokens)


def test_the_access_token_is_renewed_at_the_idp_near_expiry(fed):
    browser, _ = idp_login(fed)
    first = fed.store.hgetall(session_key(browser.cookies["bff"]))
    browser.get("/bff/api/orders", headers=CSRF)
    assert (
        fed.store.hget(session_key(browser.cookies["bff"]), "access_token")
        == (first["access_token"])
    ), "the callback's access token is used while it is fresh"
    fed.clock.advance(300 - 30 + 1)  # inside the refresh margin
    before = len(fed.idp.request_log.entries)
    assert browser.get("/bff/api/orders", headers=CSRF).status_code == 200
    now = fed.store.hgetall(session_key(browser.cookies["bff"]))
    assert now["access_token"] != first["access_token"]
    assert now["refresh_token"] != first["refresh_token"], "rotated by the provider"
    calls = [e for e in fed.idp.request_log.entries[before:] if e.path == "/oauth2/token"]
    assert len(calls) == 1 and calls[0].credential == "Basic bff"


def test_logout_revokes_the_refresh_token_at_the_idp(fed):
    browser, _ = idp_login(fed)
    refresh = fed.store.hget(session_key(browser.cookies["bff"]), "refresh_token")
    r = browser.post("/bff/logout", headers=CSRF)
    assert r.json() == {"logged_out": True, "refresh_token_revoked_at_provider": True}
    assert fed.idp.request_log.entries[-1].path == "/oauth2/revoke"
    again = fed.idp.http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        auth=("bff", CLIENT_SECRETS["bff"]),
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert browser.get("/bff/api/orders", headers=CSRF).status_code == 401


def test_logout_with_the_idp_down_still_ends_the_session(fed):
    browser, _ = idp_login(fed)
    fed.idp.stop()
    r = browser.post("/bff/logout", headers=CSRF)
    assert r.json() == {"logged_out": True, "refresh_token_revoked_at_provider": False}
    assert browser.get("/bff/me", headers=CSRF).status_code == 401


def test_a_refresh_the_idp_refuses_ends_the_session(fed):
    browser, _ = idp_login(fed)
    refresh = fed.store.hget(session_key(browser.cookies["bff"]), "refresh_token")
    fed.idp.http.post(
        "/oauth2/revoke", data={"token": refresh}, auth=("bff", CLIENT_SECRETS["bff"])
    )
    fed.clock.advance(300)
    r = browser.get("/bff/api/orders", headers=CSRF)
    assert r.status_code == 401 and "can no longer get tokens" in r.json()["error_description"]
    assert browser.get("/bff/me", headers=CSRF).status_code == 401, "the session is gone"


@pytest.mark.parametrize(
    "query, cookie",
    [
        ("code=x&state=y&iss=z", "made-up"),
        ("code=x&code=y&state=y", None),
        ("state=" + "s" * 5000, "\u00e9t\u00e9"),
        ("code=%00&state=%ff%fe&iss=%ud800", "a" * 5000),
        ("error=" + "%3Cscript%3E" * 10, None),
        ("", ""),
    ],
)
def test_garbage_at_the_callback_is_a_4xx_json(fed, query, cookie):
    browser, _, _ = start_sign_in(fed)
    if cookie is not None:
        browser.cookies.set("bff-login", cookie.encode("utf-8").decode("latin-1"))
    r = browser.get(f"/bff/callback?{query}", allow_redirects=False)
    assert 400 <= r.status_code < 500 and r.json()["error"], r.text
    assert "bff" not in browser.cookies


def test_garbage_with_a_genuine_sign_in_is_a_4xx_json(fed):
    for query in ("error=%3Cb%3E&state={state}&iss={iss}", "code=&state={state}&iss={iss}"):
        browser, _, params = start_sign_in(fed)
        url = "/bff/callback?" + query.format(state=params["state"], iss=fed.idp.url)
        r = browser.get(url, allow_redirects=False)
        assert r.status_code == 400 and r.json()["error"] in ("invalid_request",), r.text


def test_the_renewal_lock_outlives_the_slowest_renewal():
    """A lock that expired while its holder still waited for the provider would let a second
    request send the same refresh token (and reuse detection would revoke the family)."""
    from labserver.bff import _session_lock
    from labserver.oauth import bff_client

    assert _session_lock.HOLD / 1000 > 2 * bff_client.TIMEOUT  # a connect and a read timeout
