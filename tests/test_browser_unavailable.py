"""Without a Chromium, each experiment of chapters 07-08 ends in BrowserUnavailable, the error a
notebook shows as a single line saying how to get a browser: never another traceback."""

from __future__ import annotations

import pytest

from labserver import start_lab
from labserver.browser import casebook, cors, driver, logout, samesite, scoping, xss

EXPERIMENTS = {
    "xss_on_spa": xss.xss_on_spa,
    "xss_on_bff": xss.xss_on_bff,
    "compare_logouts": logout.compare_logouts,
    "samesite_table": samesite.samesite_table,
    "cors_experiment": cors.cors_experiment,
    "cookie_scoping": lambda lab: scoping.cookie_scoping(lab.browser()),
    "cookies_per_host": lambda lab: scoping.cookies_per_host(lab.browser()),
    "casebook_in_chromium": lambda lab: casebook.casebook_in_chromium(lab.browser()),
}


@pytest.fixture
def lab_without_a_browser(monkeypatch):
    driver.stop()
    monkeypatch.setattr(driver, "find_chromium", lambda: None)
    with start_lab(redis_url="", replace=False) as lab:
        yield lab


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_without_a_browser_says_how_to_get_one(lab_without_a_browser, name):
    with pytest.raises(driver.BrowserUnavailable, match="install Chromium"):
        EXPERIMENTS[name](lab_without_a_browser)
