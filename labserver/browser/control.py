"""What a cell drives: a :class:`LabBrowser` (one empty browser profile) and its :class:`Tab`\\ s.

    >>> browser = lab.browser()                 # headless Chromium, cookies of its own
    >>> tab = browser.open("/bff/")             # a path of the lab, or any loopback URL
    >>> tab.document_cookie(), tab.local_storage()   # what the page's scripts see
    >>> browser.cookies()                       # what the browser stored, with attributes
    >>> tab.run("fetch('/api/me').then(r => r.status)")  # a script in the page, as XSS would
    >>> tab.screenshot()                        # shown inline

Every method runs on the browser's thread (:mod:`labserver.browser.driver`) and returns plain
data, so a cell never holds a Playwright object and re-running it is safe.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import driver as driver_module

#: Milliseconds a page may take to load, or a selector to appear.
TIMEOUT_MS = 15_000
#: Milliseconds a script run in a page (:meth:`Tab.run`) may take to settle. Playwright's
#: ``evaluate`` waits for a promise forever, which would wedge the browser's one thread.
SCRIPT_TIMEOUT_MS = TIMEOUT_MS

# Runs ``source`` as Playwright's evaluate does (a function expression is called with ``arg``, a
# promise is awaited), but a promise that has not settled after ``ms`` is an error. The
# parentheses around a ``function`` are Playwright's too (normalizeEvaluationExpression).
_BOUNDED = """async ([source, arg, ms]) => {
  source = source.trim();
  if (/^(async)?\\s*function(\\s|\\()/.test(source)) source = "(" + source + ")";
  let value = (0, eval)(source);
  if (typeof value === "function") value = value(arg);
  let timer;
  const late = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`the script did not settle within ${ms} ms`)), ms);
  });
  try { return await Promise.race([value, late]); } finally { clearTimeout(timer); }
}"""

# Playwright objects by handle; only the browser's thread reads or writes this.
_objects: dict[int, Any] = {}
_handles = itertools.count(1)


@dataclass(frozen=True)
class StoredCookie:
    """A cookie as the browser stored it (read through the DevTools protocol, which says when
    a cookie had no ``SameSite`` attribute, and which port set it)."""

    name: str
    value: str
    domain: str
    path: str
    secure: bool
    http_only: bool
    same_site: str  # "Strict", "Lax", "None", or "" when the cookie had none (Lax by default)
    expires: float  # seconds since the epoch; -1 for a session cookie
    size: int  # bytes of name and value
    set_by_port: int  # the port of the server that set it (it is sent to every port)

    @property
    def attributes(self) -> str:
        """The attributes in one line, e.g. ``"host-only; Path=/; HttpOnly; SameSite=Lax"``."""
        # DevTools writes a Domain cookie's domain with a leading dot; without one, the cookie
        # is host-only: sent to that exact host, as a cookie set with no Domain is.
        where = f"Domain={self.domain[1:]}" if self.domain.startswith(".") else "host-only"
        parts = [where, f"Path={self.path}"]
        parts += ["Secure"] * self.secure + ["HttpOnly"] * self.http_only
        parts.append(f"SameSite={self.same_site}" if self.same_site else "no SameSite")
        return "; ".join(parts)

    @classmethod
    def from_devtools(cls, c: dict) -> StoredCookie:
        return cls(
            c["name"],
            c["value"],
            c["domain"],
            c["path"],
            c["secure"],
            c["httpOnly"],
            c.get("sameSite", ""),
            c["expires"] if not c.get("session") else -1,
            c["size"],
            c.get("sourcePort", -1),
        )


def _keep(obj: Any) -> int:
    handle = next(_handles)
    _objects[handle] = obj
    return handle


#: A profile that allows third-party cookies, as a user who changed the setting has it.
_ALLOW_THIRD_PARTY = {"profile": {"cookie_controls_mode": 0}}


class LabBrowser:
    """One browser profile with its own cookie jar and storage, for one lab.

    ``third_party_cookies``: start a second Chromium with a profile that allows them (the
    user's setting); by default, as in a private window, Chromium blocks them.
    """

    def __init__(self, lab, *, third_party_cookies: bool = False) -> None:
        self.lab = lab
        self._driver = driver_module.driver(user=lab)
        self.version = self._driver.version
        self._profile = None
        if third_party_cookies:
            self._profile = tempfile.TemporaryDirectory(prefix="lab-browser-")
            default = Path(self._profile.name, "Default")
            default.mkdir()
            (default / "Preferences").write_text(json.dumps(_ALLOW_THIRD_PARTY))
            options = driver_module.launch_options()
            folder = self._profile.name
            self._handle = self._driver.call(
                lambda p, b: _keep(p.chromium.launch_persistent_context(folder, **options))
            )
        else:
            self._handle = self._driver.call(lambda p, b: _keep(b.new_context()))
        self._tabs: list[Tab] = []

    def _context(self):
        if self._handle is None:
            raise RuntimeError("this browser profile is closed: lab.browser() makes another")
        return _objects[self._handle]

    def call(self, fn):
        """Run ``fn(context, browser)`` on the browser's thread, with this profile's Playwright
        ``BrowserContext`` and the ``Browser``; return its (plain) result. For experiments that
        need DevTools events or many page loads in one job."""
        return self._driver.call(lambda p, b: fn(self._context(), b))

    def url(self, path_or_url: str) -> str:
        """A path of the lab (``"/bff/"``) as a URL; a whole URL stays as it is."""
        # a path's query may hold a URL ("/login?next=http://…"): it is still a path
        return self.lab.url + path_or_url if path_or_url.startswith("/") else path_or_url

    def open(self, path_or_url: str = "/") -> Tab:
        """Open a new tab at ``path_or_url`` and wait until the page has loaded."""
        url = self.url(path_or_url)

        def open_page(p, b):
            page = self._context().new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            return _keep(page)

        tab = Tab(self, self._driver.call(open_page))
        self._tabs.append(tab)
        return tab

    def cookies(self, url: str | None = None) -> list[StoredCookie]:
        """The cookies the browser stored (for ``url`` only, if given), oldest first."""
        urls = [self.url(url)] if url else None

        def read(p, b):
            context = self._context()
            page = context.pages[0] if context.pages else context.new_page()
            devtools = context.new_cdp_session(page)
            try:
                params = {"urls": urls} if urls else {}
                return devtools.send(
                    "Network.getCookies" if urls else "Network.getAllCookies", params
                )["cookies"]
            finally:
                devtools.detach()

        return [StoredCookie.from_devtools(c) for c in self._driver.call(read)]

    def cookie_table(self, url: str | None = None) -> str:
        """The stored cookies as a small table: name, size in bytes, attributes (values are
        secrets, and random: they are left out)."""
        cookies = self.cookies(url)
        width = max([len(c.name) for c in cookies] + [6])
        rows = [f"{'cookie':<{width}}  bytes  attributes"]
        rows += [f"{c.name:<{width}}  {c.size:>5}  {c.attributes}" for c in cookies]
        return "\n".join(rows)

    def add_cookie(self, name: str, value: str, url: str | None = None) -> None:
        """Put a cookie in the jar as a user (or malware) with a copied value would."""
        cookie = {"name": name, "value": value, "url": self.url(url or "/")}
        self._driver.call(lambda p, b: self._context().add_cookies([cookie]))

    def clear_cookies(self, **which: str) -> None:
        """Empty the cookie jar, as "delete cookies" in the browser's settings does; or only the
        cookies matching ``name=``, ``domain=`` and ``path=``."""
        self._driver.call(lambda p, b: self._context().clear_cookies(**which))

    def close(self) -> None:
        """Close every tab and the profile (safe to call twice)."""
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        if self in self.lab._browsers:
            self.lab._browsers.remove(self)
        tabs = [tab._handle for tab in self._tabs]
        if self._driver.alive:
            # its pages close with it; their handles go too, or each re-run would keep them
            def close(p, b):
                for tab in tabs:
                    _objects.pop(tab, None)
                _objects.pop(handle).close()

            self._driver.call(close)
        if self._profile is not None:
            self._profile.cleanup()

    def __enter__(self) -> LabBrowser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self._handle is not None else "closed"
        return f"<LabBrowser {state}: Chromium {self.version}>"


class Tab:
    """One page of a :class:`LabBrowser`."""

    def __init__(self, browser: LabBrowser, handle: int) -> None:
        self.browser = browser
        self._handle = handle

    def _call(self, fn):
        def on_page(p, b):
            page = _objects.get(self._handle)
            if page is None:
                raise RuntimeError("this tab is closed (or its browser profile is)")
            return fn(page)

        return self.browser._driver.call(on_page)

    @property
    def url(self) -> str:
        """Where the tab is now."""
        return self._call(lambda page: page.url)

    def goto(self, path_or_url: str) -> int | None:
        """Load another page in this tab; its HTTP status."""
        url = self.browser.url(path_or_url)
        return self._call(lambda page: (r := page.goto(url)) and r.status)

    def document_cookie(self) -> str:
        """``document.cookie``: the cookies a script of this page can read."""
        return self._call(lambda page: page.evaluate("document.cookie"))

    def local_storage(self) -> dict[str, str]:
        """This origin's ``localStorage``, as the page's scripts see it."""
        return self._call(lambda page: page.evaluate("Object.assign({}, localStorage)"))

    def run(self, script: str, arg: Any = None) -> Any:
        """Run ``script`` in the page, as an injected script (XSS) would, and return its
        value (a function expression gets ``arg``; a promise is awaited, for at most
        :data:`SCRIPT_TIMEOUT_MS`)."""
        bounded = [script, arg, SCRIPT_TIMEOUT_MS]
        return self._call(lambda page: page.evaluate(_BOUNDED, bounded))

    def title(self) -> str:
        """The page's title (the attacker's pages put what their script saw there)."""
        return self._call(lambda page: page.title())

    def wait_for_title(self, pattern: str) -> str:
        """Wait until the title matches the regular expression ``pattern``; the title."""
        script = "pattern => new RegExp(pattern).test(document.title)"
        return self._call(lambda page: page.wait_for_function(script, arg=pattern) and page.title())

    def click_and_wait(self, selector: str) -> int | None:
        """Click a link or a submit button, and wait for the page it loads; its status."""

        def click(page):
            with page.expect_navigation() as navigation:
                page.click(selector)
            response = navigation.value
            return response.status if response else None

        return self._call(click)

    def fill(self, selector: str, text: str) -> None:
        """Type ``text`` into the field ``selector``."""
        self._call(lambda page: page.fill(selector, text))

    def click(self, selector: str) -> None:
        """Click the element ``selector``."""
        self._call(lambda page: page.click(selector))

    def text(self, selector: str) -> str:
        """The text of the element ``selector``."""
        return self._call(lambda page: page.inner_text(selector))

    def wait_for_text(self, selector: str, text: str) -> str:
        """Wait until ``selector``'s text contains ``text``; the whole text."""

        def wait(page):
            page.locator(selector, has_text=text).first.wait_for()
            return page.inner_text(selector)

        return self._call(wait)

    def screenshot(self) -> Screenshot:
        """A PNG of the tab, which a notebook shows inline."""
        return Screenshot(self._call(lambda page: page.screenshot()))

    def close(self) -> None:
        """Close this tab."""
        self._call(lambda page: _objects.pop(self._handle).close())


@dataclass(frozen=True)
class Screenshot:
    """PNG bytes that Jupyter displays as an image."""

    png: bytes

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return f"<Screenshot {len(self.png)} bytes of PNG>"


class UnavailableBrowser:
    """What ``lab.browser()`` returns without a Chromium: every use raises
    :class:`~labserver.browser.driver.BrowserUnavailable`, which a notebook shows as one line."""

    version = ""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __getattr__(self, name: str):
        if name.startswith("_"):  # Jupyter's display hooks look for _repr_*_ methods
            raise AttributeError(name)
        raise driver_module.BrowserUnavailable(self.reason)

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self):
        # ``with lab.browser() as browser:`` looks these up on the class, not via __getattr__
        raise driver_module.BrowserUnavailable(self.reason)

    def __exit__(self, *exc_info: object) -> None:
        """Nothing to close."""

    def __repr__(self) -> str:
        return f"<LabBrowser unavailable: {self.reason}>"
