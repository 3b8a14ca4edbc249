"""Chapter 07: three ways to "log out" of chapter 1's session, and what each leaves behind.

A page of the lab logs in with ``fetch("/session/login")`` (the browser stores the HttpOnly
``session`` cookie) and puts a draft in ``localStorage``; malware on the machine copies the
cookie's value out of the browser's store. Then one of:

* ``cookie-only``       the answer expires the cookie: the browser forgets it, the store does not
* ``Clear-Site-Data``   ``"cookies", "storage"``: the browser drops the site's cookies and
  ``localStorage`` too (only in a secure context, which ``http://127.0.0.1`` is); the store
  still keeps the session
* ``server-side``       ``POST /session/logout`` deletes the session in the store

    >>> print(compare_logouts(lab))

For each: the cookies and ``localStorage`` left in the browser, and whether the copied cookie
still works from Python. (The page never fetches ``/session/me`` itself once logged out: the
lab's 401 there offers ``WWW-Authenticate: Basic``, and Chromium would wait on a login prompt.)
"""

from __future__ import annotations

from dataclasses import dataclass

from ..users import PASSWORDS

USER = "alice"

#: The lab page's script: log in as the page's own code would, keep a draft; the CSRF token.
LOG_IN = """async ({username, password}) => {
  const r = await fetch("/session/login", {method: "POST",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({username, password})});
  localStorage.setItem("draft", "an unsent message");
  return (await r.json()).csrf_token;
}"""

#: A logout button's script: POST to ``path`` (the CSRF header only matters to /session/logout).
LOG_OUT = """async ({path, csrf}) =>
  (await fetch(path, {method: "POST", headers: {"X-CSRF-Token": csrf}})).status"""

#: The three logouts: (name in the table, the path the page POSTs to).
LOGOUTS = (
    ("cookie only", "/browser/logout/cookie-only"),
    ("Clear-Site-Data", "/browser/logout/clear-site-data"),
    ("server-side", "/session/logout"),
)


@dataclass(frozen=True)
class BrowserState:
    """What is left in the browser, and what the session cookie is worth, at one moment."""

    cookies: tuple[str, ...]  # names of the cookies the browser holds
    storage: tuple[str, ...]  # keys of the page's localStorage
    copied_me: int  # GET /session/me from Python with the copied cookie


@dataclass(frozen=True)
class LogoutRun:
    """One logout: the state before and after it, and the logout's own status."""

    name: str
    path: str
    status: int
    before: BrowserState
    after: BrowserState


@dataclass(frozen=True)
class LogoutComparison:
    """The three logouts side by side, and whether the page was a secure context."""

    runs: tuple[LogoutRun, ...]
    secure_context: bool

    def run(self, name: str) -> LogoutRun:
        """The run called ``name`` (``"cookie only"``, ``"Clear-Site-Data"``, ``"server-side"``)."""
        return next(r for r in self.runs if r.name == name)

    @property
    def clear_site_data_honoured(self) -> bool:
        """Whether the browser dropped the cookies and the storage the header named."""
        after = self.run("Clear-Site-Data").after
        return not after.cookies and not after.storage

    def __str__(self) -> str:
        def row(label: str, s: BrowserState) -> str:
            cookies = ", ".join(s.cookies) or "none"
            storage = ", ".join(s.storage) or "empty"
            return f"{label:<22}{cookies:<12}{storage:<14}{s.copied_me}"

        yes_no = {True: "yes", False: "no"}
        lines = [
            f"{'logout':<22}{'cookies':<12}{'localStorage':<14}/session/me with the copied cookie",
            row("before (each run)", self.runs[0].before),
        ]
        lines += [row(r.name, r.after) for r in self.runs]
        lines.append(
            f"Clear-Site-Data honoured at http://127.0.0.1: {yes_no[self.clear_site_data_honoured]}"
            f" (a secure context: {yes_no[self.secure_context]};"
        )
        lines.append(
            "  browsers apply the header only in secure contexts: https, localhost, 127.0.0.1)"
        )
        return "\n".join(lines)


def _state(lab, browser, tab, copied: str) -> BrowserState:
    outside = lab.client("malware").get("/session/me", headers={"Cookie": f"session={copied}"})
    return BrowserState(
        cookies=tuple(c.name for c in browser.cookies()),
        storage=tuple(sorted(tab.local_storage())),
        copied_me=outside.status_code,
    )


def _logout_run(lab, browser, tab, name: str, path: str) -> LogoutRun:
    """Log in from ``tab``, copy the cookie, log out by ``path``: the run."""
    browser.clear_cookies()
    tab.run("localStorage.clear()")
    csrf = tab.run(LOG_IN, {"username": USER, "password": PASSWORDS[USER]})
    copied = next(c.value for c in browser.cookies() if c.name == "session")
    before = _state(lab, browser, tab, copied)
    status = tab.run(LOG_OUT, {"path": path, "csrf": csrf})
    return LogoutRun(name, path, status, before, _state(lab, browser, tab, copied))


def compare_logouts(lab) -> LogoutComparison:
    """The three logouts of :data:`LOGOUTS`, one after the other in one fresh browser profile
    (emptied before each)."""
    with lab.browser() as browser:
        tab = browser.open("/browser/arrived")
        runs = tuple(_logout_run(lab, browser, tab, name, path) for name, path in LOGOUTS)
        return LogoutComparison(runs, tab.run("isSecureContext"))
