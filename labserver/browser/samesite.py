"""Chapter 08: SameSite for real. Which of five cookies Chromium sends to the lab, by request.

    >>> table = samesite_table(lab, lab.browser())
    >>> print(table)                 # rows: request kinds; columns: the cookies; ✓ sent, · not
    >>> table.data["default"]["form"]["unset"]

The lab (``http://127.0.0.1:P``) sets the five cookies of
:data:`labserver.chapters.browser_pages.SAMESITE_COOKIES` (``Path=/browser/``); the attacker's
site (``http://localhost:Q``, another *site*) then sends a link, a form POST, an iframe and a
``fetch`` with ``credentials: "include"`` to ``/browser/arrived``, and the lab's request log
says which cookies came along. The same server reached as ``http://127.0.0.1:Q`` is the lab's
own site (another port of its host), where everything is sent. The iframe and the fetch run
again in a profile that allows third-party cookies (:meth:`Lab.browser` with
``third_party_cookies=True``), next to what RFC 6265bis allows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..chapters.browser_pages import SAMESITE_COOKIES

COOKIES = tuple(name for name, _ in SAMESITE_COOKIES)
#: Seconds to wait for a request to reach the lab's log.
ARRIVAL_TIMEOUT = 10.0

#: (row, sender, kind, label), in the table's order.
ROWS = (
    ("same-site form", "same-site", "form", "form POST from 127.0.0.1, another port"),
    ("link", "cross-site", "link", "link (top-level GET)"),
    ("form", "cross-site", "form", "form POST (top-level)"),
    ("frame", "cross-site", "frame", "iframe"),
    ("fetch", "cross-site", "fetch", 'fetch, credentials: "include"'),
)
#: Rows run again in a profile that allows third-party cookies.
THIRD_PARTY_ROWS = ("frame", "fetch")

# What the RFC 6265bis draft allows on a cross-site request: True sent, False not, None the
# browser's choice. A cookie without SameSite ("Default") is retrieved as Lax is, except that a
# browser MAY send it with a top-level POST in its first minutes (Lax-allowing-unsafe,
# §5.6.7.2); SameSite=None without Secure is refused when set (§5.7), so it is never sent.
_RFC = {
    "same-site form": dict.fromkeys(COOKIES, True) | {"none_insecure": False},
    "link": {"strict": False, "lax": True, "none_secure": True, "unset": True},
    "form": {"strict": False, "lax": False, "none_secure": True, "unset": None},
    "frame": {"strict": False, "lax": False, "none_secure": True, "unset": False},
    "fetch": {"strict": False, "lax": False, "none_secure": True, "unset": False},
}
for _row in _RFC.values():
    _row.setdefault("none_insecure", False)

#: The table's cross-site rows by exercise 21's names for them.
_EXERCISE_KINDS = {
    "link": "top-level GET",
    "form": "top-level POST",
    "frame": "iframe",
    "fetch": "fetch",
}

_MARK = {True: "✓", False: "·", None: "~"}
_SECTIONS = (
    ("default", "Chromium, as installed (third-party cookies blocked)"),
    ("third_party", "Chromium, a profile that allows third-party cookies"),
    ("rfc6265bis", "the RFC 6265bis draft allows (~: left to the browser)"),
)


@dataclass(frozen=True)
class SameSiteTable:
    """Which cookies reached the lab, by profile and request; ``str()`` is the table."""

    stored: tuple[str, ...]  # the cookies the default profile kept after they were set
    received: dict[str, dict[str, tuple[str, ...]]]  # profile -> row -> cookie names
    fetch_site: dict[str, dict[str, str]]  # profile -> row -> Sec-Fetch-Site of the request
    seconds: float = field(default=0.0, compare=False)  # how long it took (never printed)

    @property
    def data(self) -> dict[str, dict[str, dict[str, bool | None]]]:
        """``data[profile][row][cookie]``: sent or not (``rfc6265bis``: None = either)."""
        data = {
            profile: {row: {c: c in names for c in COOKIES} for row, names in rows.items()}
            for profile, rows in self.received.items()
        }
        data["rfc6265bis"] = {row: dict(_RFC[row]) for row in self.received["default"]}
        data["stored"] = {"": {c: c in self.stored for c in COOKIES}}
        return data

    def observed(self, profile: str = "default") -> dict[tuple[str, str], bool]:
        """``{(kind, cookie): sent}`` for the cross-site rows of ``profile`` ("default" or
        "third_party"), as exercise 21's :func:`~labserver.browser.predict.compare` takes it."""
        rows = self.data[profile]
        return {
            (kind, cookie): sent
            for row, kind in _EXERCISE_KINDS.items()
            if row in rows
            for cookie, sent in rows[row].items()
        }

    def notes(self) -> list[str]:
        """The lines under the table, each read from what was measured."""
        lines = []
        if "none_insecure" not in self.stored:
            lines.append("none_insecure: refused when set (SameSite=None needs Secure).")
        if "unset" in self.received["default"].get("form", ()):
            lines += [
                "unset: no SameSite, so Lax by default, yet sent on the cross-site POST: it was",
                "  set under 2 minutes ago (Chromium's Lax-allowing-unsafe, RFC 6265bis §5.6.7.2).",
                "  Chromium times that with its own clock, which the lab cannot move.",
            ]
        elif "unset" in self.stored:
            lines.append("unset: no SameSite, so Lax by default: not sent on the cross-site POST.")
        return lines

    def __str__(self) -> str:
        data = self.data
        label_width = max(len(label) for *_, label in ROWS) + 2
        widths = [max(len(c), 1) for c in COOKIES]
        header = " " * label_width + "  ".join(c for c in COOKIES) + "  Sec-Fetch-Site"
        lines = ["Cookies the lab (127.0.0.1) received from each request (✓ sent, · not)", header]

        def row_line(label: str, cells: dict, site: str = "") -> str:
            marks = "  ".join(
                f"{_MARK[cells[c]]:^{w}}" for c, w in zip(COOKIES, widths, strict=True)
            )
            return f"  {label:<{label_width - 2}}{marks}  {site}".rstrip()

        lines.append(row_line("stored by the browser", data["stored"][""]))
        for profile, title in _SECTIONS:
            lines.append(title)
            sites = self.fetch_site.get(profile, {})
            for row, _, _, label in ROWS:
                if row in data[profile]:
                    lines.append(row_line(label, data[profile][row], sites.get(row, "")))
        return "\n".join(lines + self.notes())

    def __repr__(self) -> str:
        return str(self)


def _forget_cookies(browser) -> None:
    """Delete the five cookies from ``browser`` (a cookie set again keeps its first creation
    time, which Chromium's 2-minute window counts from; a re-run must start afresh)."""
    for name in COOKIES:
        browser.clear_cookies(name=name, domain="127.0.0.1", path="/browser/")


def _arrival(lab, after: int, marker: str):
    """The logged request to ``/browser/arrived?via=<marker>`` that came after ``after``."""
    path = f"/browser/arrived?via={marker}"
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while True:
        for entry in lab.request_log.entries:
            if entry.number > after and entry.path == path:
                return entry
        if time.monotonic() > deadline:
            raise TimeoutError(f"no request to {path} reached the lab")
        time.sleep(0.005)


def _sender_url(lab, sender: str, kind: str, marker: str) -> str:
    attacker = lab.attacker.url
    origin = attacker if sender == "cross-site" else attacker.replace("localhost", "127.0.0.1")
    return f"{origin}/send/{kind}?to={lab.url}/browser/arrived%3Fvia%3D{marker}"


def _AT_ARRIVED(url: str) -> bool:
    return urlsplit(url).path == "/browser/arrived"


def _run_rows(lab, browser, profile: str, rows) -> tuple[dict, dict]:
    """Set the cookies in ``browser``, then send every row's request from one tab, one after
    another (one job of the browser's thread), and read each arrival from the lab's log. The
    sender's page acts by itself as it loads (``auto=1``: it follows its link, submits its
    form), as a CSRF page does."""
    _forget_cookies(browser)
    sends = [
        (row, kind, f"{profile}-{row.replace(' ', '-')}", _sender_url(lab, sender, kind, ""))
        for row, sender, kind, _ in ROWS
        if row in rows
    ]

    def send_all(context, _browser):
        page = context.new_page()
        page.set_default_timeout(ARRIVAL_TIMEOUT * 1000)
        try:
            page.goto(f"{lab.url}/browser/samesite/set")
            entries = []
            for _row, kind, marker, url in sends:
                after = lab.request_log.entries[-1].number
                page.goto(f"{url}{marker}&auto=1", wait_until="commit")
                if kind in ("link", "form"):  # a top-level navigation: let it land
                    page.wait_for_url(_AT_ARRIVED, wait_until="commit")
                entries.append(_arrival(lab, after, marker))
            return entries
        finally:
            page.close()

    entries = browser.call(send_all)
    received, sites = {}, {}
    for (row, *_), entry in zip(sends, entries, strict=True):
        received[row] = tuple(c for c in entry.cookies if c in COOKIES)
        sites[row] = entry.fetch_site
    return received, sites


def samesite_table(lab, browser=None, open_browser=None) -> SameSiteTable:
    """Set the five SameSite cookies and send every kind of request from another site (and one
    from the same site); which cookies arrived, in ``browser`` (default: a new profile) and
    again for iframe and fetch in ``open_browser``, a profile that allows third-party cookies
    (default: a new one, closed after)."""
    start = time.perf_counter()
    own = [] if browser else [browser := lab.browser()]
    if open_browser is None:
        own.append(open_browser := lab.browser(third_party_cookies=True))
    try:
        received, sites = {}, {}
        received["default"], sites["default"] = _run_rows(
            lab, browser, "default", [row for row, *_ in ROWS]
        )
        kept = {c.name for c in browser.cookies(lab.url + "/browser/")}
        stored = tuple(c for c in COOKIES if c in kept)
        received["third_party"], sites["third_party"] = _run_rows(
            lab, open_browser, "third_party", THIRD_PARTY_ROWS
        )
    finally:
        for profile in own:
            profile.close()
    return SameSiteTable(stored, received, sites, time.perf_counter() - start)
