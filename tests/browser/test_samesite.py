"""Chapter 08's SameSite table, asserted in Chromium with no notebook involved.

Five cookies alike but for SameSite, and requests of every kind from another site (``localhost``
while the lab is ``127.0.0.1``) and one from the same site: which cookies the lab received, in
Chromium as installed (third-party cookies blocked) and in a profile that allows them, against
what RFC 6265bis allows. A lab that set its cookies differently fails the same check.
"""

from __future__ import annotations

import re

import pytest

from labserver.browser.samesite import COOKIES, samesite_table
from labserver.chapters import browser_pages

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api")

#: Which cookies Chromium 156 sends, by row (measured; see the chapter's notebook).
EXPECTED = {
    "default": {
        "same-site form": {"strict", "lax", "none_secure", "unset"},
        "link": {"lax", "none_secure", "unset"},
        "form": {"none_secure", "unset"},  # unset: the 2-minute Lax-allowing-unsafe window
        "frame": set(),  # third-party cookies blocked: not even none_secure
        "fetch": set(),
    },
    "third_party": {"frame": {"none_secure"}, "fetch": {"none_secure"}},
}


def problems(table) -> list[str]:
    """How ``table`` differs from the facts the chapter states (empty: it agrees)."""
    found = []
    if set(table.stored) != set(COOKIES) - {"none_insecure"}:
        found.append(f"stored {table.stored}: only none_insecure should be refused")
    for profile, rows in EXPECTED.items():
        for row, cookies in rows.items():
            got = set(table.received[profile].get(row, ()))
            if got != cookies:
                found.append(f"{profile} {row}: sent {sorted(got)}, expected {sorted(cookies)}")
            site = "same-site" if row == "same-site form" else "cross-site"
            if table.fetch_site[profile].get(row) != site:
                found.append(f"{profile} {row}: Sec-Fetch-Site {table.fetch_site[profile]}")
    return found


@pytest.fixture(scope="module")
def profiles(lab):
    return lab.browser(), lab.browser(third_party_cookies=True)


def test_what_chromium_sends_across_sites(lab, profiles):
    table = samesite_table(lab, *profiles)
    assert problems(table) == []
    text = str(table)
    assert "none_insecure: refused when set" in text
    assert "Lax-allowing-unsafe" in text
    assert not re.search(r":\d{2,5}|\d+\.\d+ ?s", text), "no ports or times in the table"
    assert str(samesite_table(lab, *profiles)) == text, "a re-run prints the same table"


def test_chromium_against_rfc6265bis(lab, profiles):
    """Where the RFC decides, the only cells where Chromium as installed sends less are the
    third-party ones (its own policy); a profile that allows them agrees with the RFC."""
    data = samesite_table(lab, *profiles).data
    rfc = data["rfc6265bis"]

    def disagreements(profile):
        return {
            (row, cookie)
            for row, cells in data[profile].items()
            for cookie, sent in cells.items()
            if rfc[row][cookie] is not None and rfc[row][cookie] != sent
        }

    assert disagreements("default") == {("frame", "none_secure"), ("fetch", "none_secure")}
    assert disagreements("third_party") == set()


def test_the_check_fails_on_a_lab_with_other_cookies(lab, profiles, monkeypatch):
    """Mutation: if the lab set ``lax`` with SameSite=None; Secure, the table would show it."""
    mutated = tuple(
        (name, {"samesite": "None", "secure": True} if name == "lax" else attributes)
        for name, attributes in browser_pages.SAMESITE_COOKIES
    )
    monkeypatch.setattr(browser_pages, "SAMESITE_COOKIES", mutated)
    found = problems(samesite_table(lab, *profiles))
    assert any(p.startswith("default form: sent") and "'lax'" in p for p in found), found
    assert any(p.startswith("third_party frame") for p in found), found
