"""Chapter 08's CORS experiment, asserted in Chromium with no notebook involved.

A page of another site fetches the lab's BFF API and chapter 1's session endpoint with
``credentials: "include"``. With the custom CSRF header the browser asks a preflight, which the
lab does not grant, so the request is never sent; without it the request arrives, but without
the session cookie (SameSite=Lax). A lab that granted CORS fails the same check.
"""

from __future__ import annotations

import pytest

from labserver.browser.cors import cors_experiment

from .conftest import rewriting_headers

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api")

#: row -> (preflight status, status the request arrived with, its cookies); None: not there.
EXPECTED = {
    "cross-site bff + header": (200, None, ()),
    "cross-site bff": (None, 401, ()),
    "cross-site session + header": (200, None, ()),
    "cross-site session": (None, 401, ()),
    "same-site bff + header": (200, None, ()),
    "same-site bff": (None, 403, ("bff", "session")),  # the cookie goes; the CSRF check refuses
}


def problems(result) -> list[str]:
    """How ``result`` differs from the facts the chapter states (empty: it agrees)."""
    found = []
    for row, expected in EXPECTED.items():
        f = result.fetches[row]
        if (f.preflight, f.arrived, f.cookies) != expected:
            found.append(f"{row}: {(f.preflight, f.arrived, f.cookies)}, expected {expected}")
        if f.script != "blocked":
            found.append(f"{row}: the attacker's script saw {f.script!r}")
    if result.preflight_allow_origin:
        found.append(f"the preflight was granted: {result.preflight_allow_origin}")
    return found


@pytest.fixture(scope="module")
def profile(lab):
    return lab.browser()


def test_the_custom_header_needs_a_preflight_the_lab_refuses(lab, profile):
    result = cors_experiment(lab, profile)
    assert problems(result) == []
    assert result.preflight_status == 200, "Flask answers OPTIONS itself, without CORS headers"
    text = str(result)
    assert "never sent" in text and ":" + lab.url.rsplit(":", 1)[1] not in text
    assert str(cors_experiment(lab, profile)) == text, "a re-run prints the same table"


def _granting_cors(environ, headers):
    """Every request answered as a permissive CORS policy would."""
    headers = [h for h in headers if not h[0].lower().startswith("access-control-")]
    return headers + [
        ("Access-Control-Allow-Origin", environ.get("HTTP_ORIGIN", "*")),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Methods", "GET, POST"),
        ("Access-Control-Allow-Headers", "x-csrf, x-csrf-token"),
    ]


def test_the_check_fails_on_a_lab_that_grants_cors(lab, profile, monkeypatch):
    """Mutation: with CORS granted, the request with the header is sent and its answer read."""
    monkeypatch.setattr(lab.app, "wsgi_app", rewriting_headers(lab.app.wsgi_app, _granting_cors))
    result = cors_experiment(lab, profile)
    found = problems(result)
    assert any(p.startswith("cross-site bff + header: (200, 401") for p in found), found
    assert result.fetches["cross-site bff"].script == "read 401", "the answer is readable now"
