"""Chapter 06's cookie casebook replayed in Chromium: each case's outcome, and the inspector's
verdict agreeing with it."""

from __future__ import annotations

import pytest

from labserver import start_lab
from labserver.browser.casebook import API, APP, casebook_in_chromium
from labserver.browser.scoping import NOT_LOOPBACK
from labserver.chapters.casebook import COOKIE_CASES

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def casebook():
    with start_lab(redis_url="", replace=False) as lab:
        yield casebook_in_chromium(lab.browser())


@pytest.mark.parametrize("case", sorted(COOKIE_CASES))
def test_the_inspector_agrees_with_chromium(casebook, case):
    found = casebook.case(case)
    assert found.agree, (found.inspector_says, found.chromium_says())


def test_every_case_is_replayed_and_agrees(casebook):
    assert [c.case for c in casebook.cases if c.host == "127.0.0.1"] == list(COOKIE_CASES)
    assert casebook.all_agree and "NO" not in str(casebook)


@pytest.mark.parametrize(
    "case, reason",
    [
        ("oversized", "NameValuePairExceedsMaxSize"),
        ("wrong-domain", "InvalidDomain"),
        ("samesite-none-insecure", "SameSiteNoneInsecure"),
    ],
)
def test_chromium_refuses_these_cookies_and_says_why(casebook, case, reason):
    found = casebook.case(case)
    assert not found.stored and found.refused_because == (reason,) and not found.sent_to


def test_a_narrow_path_cookie_is_kept_but_not_sent_to_the_api(casebook):
    found = casebook.case("narrow-path")
    assert found.stored and found.sent_to == (APP,)


def test_a_secure_cookie_over_http_works_on_loopback_and_is_dropped_elsewhere(casebook):
    loopback = casebook.case("secure-over-http")
    assert loopback.secure_context and loopback.stored and loopback.sent_to == (API,)
    assert loopback.inspector_ok  # unlike Python's cookie jar (tests/test_casebook.py)
    elsewhere = casebook.case("secure-over-http", NOT_LOOPBACK)
    assert not elsewhere.secure_context
    assert not elsewhere.stored and elsewhere.refused_because == ("SecureOnly",)
    assert not elsewhere.inspector_ok and "login loop" in elsewhere.inspector_says


def test_the_good_cookie_is_kept_and_sent(casebook):
    found = casebook.case("good")
    assert found.inspector_ok and found.stored and found.sent_to == (API,)
