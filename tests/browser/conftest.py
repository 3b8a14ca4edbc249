"""What every browser test needs: a Chromium, driven by Python Playwright.

The tests find it as the notebooks do (:func:`labserver.browser.driver.find_chromium`:
``$LAB_CHROMIUM``, the system's ``chromium``, or Playwright's own inside ``.venv``) and launch it
with the same offline flags. Without one they skip with a message, except when
``LAB_REQUIRE_BROWSER=1`` (CI), where that is an error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labserver.browser.driver import find_chromium, launch_options

CHROMIUM = find_chromium()

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM:
        return
    if os.environ.get("LAB_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError("LAB_REQUIRE_BROWSER=1 but no chromium found (set LAB_CHROMIUM)")
    skip = pytest.mark.skip(
        reason="no Chromium found: the browser tests run in CI; "
        "install Debian's chromium or set LAB_CHROMIUM to run them here"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def playwright_api():
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="session")
def browser(playwright_api):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def lab(request):
    """One lab per test file of chapters 07 and 08's experiments (started with the file's
    ``LAB_OPTIONS``, if it has any); neither it nor the attacker's site (if a test started it)
    may have crashed."""
    from labserver import start_lab

    options = getattr(request.module, "LAB_OPTIONS", {})
    with start_lab(redis_url="", replace=False, **options) as lab:
        yield lab
        assert lab.crashes == []
        assert lab.attacker.crashes == []


def rewriting_headers(wsgi_app, rewrite):
    """``wsgi_app`` with every response's headers replaced by ``rewrite(environ, headers)``: how
    the mutation tests make the lab answer as a wrong server would."""

    def app(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, rewrite(environ, headers), exc_info)

        return wsgi_app(environ, start)

    return app
