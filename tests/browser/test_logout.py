"""Chapter 07's logout experiment, checked in Chromium without a notebook: deleting the cookie
and Clear-Site-Data empty the browser but leave a copied cookie working; only the server-side
logout makes it worthless."""

from __future__ import annotations

import pytest

from labserver.browser import logout

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def comparison(lab):
    return logout.compare_logouts(lab)


def test_before_each_logout_the_browser_is_logged_in_and_the_copy_works(comparison):
    assert [r.name for r in comparison.runs] == ["cookie only", "Clear-Site-Data", "server-side"]
    for run in comparison.runs:
        assert run.status == 200
        assert run.before == logout.BrowserState(("session",), ("draft",), 200)


def test_what_each_logout_leaves_behind(comparison):
    after = {r.name: r.after for r in comparison.runs}
    assert after == {
        "cookie only": logout.BrowserState((), ("draft",), 200),
        "Clear-Site-Data": logout.BrowserState((), (), 200),
        "server-side": logout.BrowserState((), ("draft",), 401),
    }


def test_clear_site_data_is_honoured_over_plain_http_on_127_0_0_1(comparison):
    assert comparison.secure_context
    assert comparison.clear_site_data_honoured


def test_the_table_is_stable(comparison, lab):
    printed = str(comparison)
    assert lab.url.rsplit(":", 1)[1] not in printed
    assert printed.splitlines()[-2:] == [
        "Clear-Site-Data honoured at http://127.0.0.1: yes (a secure context: yes;",
        "  browsers apply the header only in secure contexts: https, localhost, 127.0.0.1)",
    ]


def test_a_page_that_asks_without_a_session_gets_its_401_at_once(lab):
    """No Basic challenge for a browser, so no login dialog for a page's fetch to wait on."""
    with lab.browser() as browser:
        tab = browser.open("/browser/arrived")
        statuses = tab.run(
            "Promise.all(['/session/me', '/whoami'].map(p => fetch(p).then(r => r.status)))"
        )
    assert statuses == [401, 401]
