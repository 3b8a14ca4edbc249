"""Chapter 9's Referer leak, asserted in Chromium with no notebook involved.

alice's page carries her token in its URL and shows an image from another site. With a lax
``Referrer-Policy`` Chromium sends that site the whole URL, token included, and the attacker's
replay of it is accepted; with the browser's default only the origin goes, and with the lab's
own policy nothing does. A page whose policy header is rewritten to ``no-referrer`` fails the
same check.
"""

from __future__ import annotations

import pytest

from labserver.browser.referer import referer_experiment

from .conftest import rewriting_headers

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api")

#: policy -> what the other site's pixel got: "whole URL", "origin only" or "none"
EXPECTED = {
    "unsafe-url": "whole URL",
    "no-referrer-when-downgrade": "whole URL",  # http to http is no downgrade
    "unset": "origin only",  # Chromium's default: strict-origin-when-cross-origin
    "strict-origin-when-cross-origin": "origin only",
    "same-origin": "none",
    "no-referrer": "none",
}


#: The conftest's lab, with chapter 9's vulnerable endpoints (alice's page) mounted.
LAB_OPTIONS = {"vulnerable": True}


@pytest.fixture(scope="module")
def profile(lab):
    return lab.browser()


def problems(result) -> list[str]:
    """How ``result`` differs from the facts the chapter states (empty: it agrees)."""
    found = []
    for policy, expected in EXPECTED.items():
        got = result.data[policy]
        if got["sent"] != expected:
            found.append(
                f"{policy}: {got['sent']} ({str(got['referer'])[:80]}), expected {expected}"
            )
        if got["fetch_site"] != "cross-site":
            found.append(f"{policy}: Sec-Fetch-Site {got['fetch_site']!r}, not cross-site")
    if result.replay != "accepted: sub 'alice', roles ['user']":
        found.append(f"the replay of the token from the Referer: {result.replay}")
    return found


def test_a_lax_policy_sends_the_token_to_another_site_and_the_default_does_not(lab, profile):
    result = referer_experiment(lab, profile)
    assert problems(result) == []
    whole = result.data["unsafe-url"]["referer"]
    assert whole.startswith(lab.url + "/vulnerable/url-token/page?access_token=eyJ")
    assert result.data["unset"]["referer"] == lab.url + "/"
    text = str(result)
    port = ":" + lab.url.rsplit(":", 1)[1]
    assert "whole URL, token included: /vulnerable/url-token/page?access_token=eyJhbGci…" in text
    assert port not in text and "%3A" not in text and whole not in text
    assert str(referer_experiment(lab, profile)) == text, "a re-run prints the same table"


def _no_referrer(environ, headers):
    """Every page answers with ``Referrer-Policy: no-referrer``."""
    headers = [h for h in headers if h[0].lower() != "referrer-policy"]
    return headers + [("Referrer-Policy", "no-referrer")]


def test_the_check_fails_when_every_page_sends_no_referrer(lab, profile, monkeypatch):
    """Mutation: no page sends its URL anywhere, so nothing leaks and nothing is replayed."""
    monkeypatch.setattr(lab.app, "wsgi_app", rewriting_headers(lab.app.wsgi_app, _no_referrer))
    result = referer_experiment(lab, profile)
    found = problems(result)
    assert any(p.startswith("unsafe-url: none") for p in found), found
    assert result.replay.startswith("- (no Referer held a token)")
