"""Chapter 6's misbehaving endpoints reproduce their failures, and the inspector names them."""

import pytest

from labserver import PASSWORDS, start_lab
from labserver.chapters.casebook import COOKIE_CASES
from labserver.tools.cookies import inspect


@pytest.mark.parametrize("case", sorted(COOKIE_CASES))
def test_each_cookie_case_is_what_it_says(lab, case):
    browser = lab.client()
    response = browser.get(f"/casebook/cookie/{case}")
    assert response.json()["mistake"] == COOKIE_CASES[case][3]
    report = inspect(
        response.headers["Set-Cookie"],
        url="http://app.example.test/",
        api_url="http://app.example.test/casebook/api/echo",
    )
    assert report.ok == (case == "good"), report.text()
    arrived = browser.get("/casebook/api/echo").json()["cookies"]
    jar_drops = {
        "wrong-domain",
        "narrow-path",
        "secure-over-http",
    }  # Python's cookie jar enforces these
    assert ("prefs" in arrived) == (case not in jar_drops)


def test_unknown_case(lab):
    assert lab.http.get("/casebook/cookie/nope").status_code == 404


def test_secure_cookie_over_http_is_a_login_loop():
    with start_lab({"SESSION_COOKIE_SECURE": True}, redis_url="", replace=False) as lab:
        browser = lab.client()
        login = browser.post(
            "/session/login", json={"username": "alice", "password": PASSWORDS["alice"]}
        )
        assert login.status_code == 200 and "Secure" in login.headers["Set-Cookie"]
        assert browser.get("/session/me").status_code == 401


def test_bad_logout_leaves_the_session_alive(lab):
    browser = lab.client()
    login = browser.post(
        "/session/login", json={"username": "alice", "password": PASSWORDS["alice"]}
    )
    copy = browser.cookies["session"]
    assert (
        browser.post(
            "/casebook/bad-logout", headers={"X-CSRF-Token": login.json()["csrf_token"]}
        ).status_code
        == 200
    )
    thief = lab.client()
    thief.cookies.set("session", copy)
    assert thief.get("/session/me").status_code == 200
