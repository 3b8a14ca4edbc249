"""``start_lab()``: the lab server, running inside the notebook's own Python process.

    >>> lab = start_lab()
    >>> lab.http.get("/health").json()
    {'status': 'ok'}

The handle gives a notebook everything it needs: the base URL, an HTTP client with a cookie jar
(``lab.http``), the store the server writes to (``lab.store``), the clock every time decision
reads (``lab.clock``), the request log, and ``stop()``. Re-running the cell that starts the lab
stops the previous one first, so no thread or port is leaked.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import Any
from urllib.parse import urljoin

import redis
import requests

from . import store as store_module
from .app import create_app
from .clock import LabClock
from .hosting import BrowserLink, browser_url
from .keys import KeyRing
from .requestlog import RequestLog
from .server import READ_TIMEOUT, ServerThread
from .tls import LabTLS

#: Every lab HTTP call gives up after this many seconds instead of hanging a cell.
HTTP_TIMEOUT = 10.0

_current: Lab | None = None
_current_lock = threading.Lock()


class LabHTTP(requests.Session):
    """A ``requests.Session`` for one lab: paths like ``"/health"`` are joined to its URL,
    and every request has a timeout. It keeps cookies, like one browser would."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        # A lab on loopback must never be reached through a proxy from the environment.
        self.trust_env = False
        self._last_used = time.monotonic()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        # The server closes a keep-alive connection after READ_TIMEOUT idle seconds; a request
        # sent at that very moment would fail. Long before then, start a new connection.
        if time.monotonic() - self._last_used > READ_TIMEOUT / 2:
            for adapter in self.adapters.values():
                adapter.close()
        try:
            return super().request(method, urljoin(self.base_url, url), *args, **kwargs)
        finally:
            self._last_used = time.monotonic()


class Lab:
    """A running lab. Use :func:`start_lab` to make one."""

    def __init__(self, app, server: ServerThread, tls: LabTLS | None = None) -> None:
        state = app.extensions["lab"]
        self.app = app
        self.url: str = server.url
        self.store: redis.Redis = state.store
        self.clock: LabClock = state.clock
        self.keys: KeyRing = state.keys
        self.request_log: RequestLog = state.request_log
        self._server = server
        self._tls = tls
        state.own_url = server.url
        if tls is not None:
            state.tls_cert = str(tls.cert_path)
        self._clients: list[LabHTTP] = []
        self._federation = None
        self._attacker: Lab | None = None
        self._capstone = None
        self._browsers: list = []
        self.http: LabHTTP = self.client()

    def client(self, name: str | None = None) -> LabHTTP:
        """A new HTTP client with an empty cookie jar: a second browser, another user.
        ``name`` is its User-Agent, which the request log shows (e.g. ``"mobile-app"``)."""
        http = LabHTTP(self.url + "/")
        if name:
            http.headers["User-Agent"] = name
        if self._tls is not None:
            http.verify = str(self._tls.cert_path)  # trust the lab's own certificate, only it
        self._clients.append(http)
        return http

    def link(self, path: str = "/") -> BrowserLink:
        """The address of ``path`` for your own browser: :attr:`url` on a laptop, and through
        Jupyter's proxy on a hub (JupyterHub, Binder). ``lab.http`` keeps calling :attr:`url`."""
        return browser_url(self.url, path)

    @property
    def federation(self):
        """Chapter 04's identity provider and APIs (``start_lab(identity_provider=True)``)."""
        if self._federation is None:
            raise RuntimeError(
                "this lab has no identity provider: start it with start_lab(identity_provider=True)"
            )
        return self._federation

    @property
    def idp(self) -> Lab:
        """The identity provider (its own app, on its own port)."""
        return self.federation.idp

    @property
    def orders(self) -> Lab:
        """The orders API, which trusts the identity provider."""
        return self.federation.orders

    @property
    def billing(self) -> Lab:
        """The billing API, which trusts the identity provider."""
        return self.federation.billing

    def browser(self, *, third_party_cookies: bool = False):
        """A headless Chromium profile with an empty cookie jar, pointed at this lab
        (chapters 07 and 08): :class:`~labserver.browser.control.LabBrowser`. The browser starts on
        first use, is shared by every profile of this process, and stops with the lab.
        ``third_party_cookies``: a profile that allows them (Chromium's default blocks them).
        Without a Chromium, what it returns says how to get one, in one line, when used."""
        from .browser.control import LabBrowser, UnavailableBrowser
        from .browser.driver import BrowserUnavailable, explain_in_notebooks

        explain_in_notebooks()
        try:
            browser = LabBrowser(self, third_party_cookies=third_party_cookies)
        except BrowserUnavailable as exc:
            return UnavailableBrowser(str(exc))
        self._browsers.append(browser)
        return browser

    @property
    def attacker(self) -> Lab:
        """Another site on loopback, the attacker's: ``http://localhost:<port>`` (chapters 07, 08),
        started on first use, stopped with the lab."""
        if self._attacker is None:
            attacker = start_lab(
                {"APP_ROLE": "attacker", "SERVICE_NAME": "attacker", "SEED_DEMO_USERS": False},
                clock=self.clock,
                replace=False,
                redis_url="",
            )
            attacker.url = attacker.url.replace("127.0.0.1", "localhost")
            self._attacker = attacker
        return self._attacker

    @property
    def capstone(self):
        """Chapter 11's black box (``start_lab(capstone=SEED)``): a
        :class:`~labserver.capstone.target.CapstoneTarget`, on its own port."""
        if self._capstone is None:
            raise RuntimeError(
                "this lab has no capstone target: start it with start_lab(capstone=SEED)"
            )
        return self._capstone

    @property
    def running(self) -> bool:
        """True from start until :meth:`stop`."""
        return self._server.running

    @property
    def crashes(self) -> list[str]:
        """Unexpected server exceptions (each was answered with a 500); should stay empty."""
        return self.app.extensions["lab"].crashes

    @property
    def server_log(self) -> list[str]:
        """Protocol-level problems the HTTP server saw (bad request lines, dropped connections)."""
        return self._server.server_log

    @contextlib.contextmanager
    def outage(self):
        """``with lab.idp.outage():`` this server is down (connections are refused), then back
        on the same port with everything it kept (store, keys): a system that went away."""
        port = int(self.url.rsplit(":", 1)[1])
        self._server.stop()
        try:
            yield
        finally:
            context = self._tls.context if self._tls else None
            self._server = ServerThread(self.app, port=port, ssl_context=context)

    def store_outage(self) -> contextlib.AbstractContextManager[None]:
        """``with lab.store_outage():`` the store is unreachable, for the server and notebook."""
        return store_module.outage(self.store)

    def stop(self) -> None:
        """Close the clients, stop the server and wait for its threads. Safe to call twice."""
        global _current
        if self._federation is not None:
            self._federation.stop()
        for browser in list(self._browsers):
            browser.close()
        driver = sys.modules.get("labserver.browser.driver")  # loaded if a browser ever was
        if driver is not None:
            driver.release(self)
        if self._attacker is not None:
            self._attacker.stop()
        if self._capstone is not None:
            self._capstone.stop()
        for http in self._clients:
            http.close()
        self._server.stop()
        if self._tls is not None:
            self._tls.cleanup()
        with _current_lock:
            if _current is self:
                _current = None

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        store = store_module.describe(self.store)
        try:
            link = self.link()
        except ValueError as exc:  # a bad LAB_BROWSER_LINK: say so, as the repr must not fail
            link = str(exc)
        seen = "" if link == self.url + "/" else f" · in your browser: {link}"
        return f"<Lab {state} at {self.url}{seen} · store: {store} · {self.clock!r}>"


def start_lab(
    config: dict[str, Any] | None = None,
    *,
    redis_url: str | None = None,
    clock: LabClock | None = None,
    replace: bool = True,
    https: bool = False,
    vulnerable: bool = False,
    store: redis.Redis | None = None,
    identity_provider: bool = False,
    capstone: int | str | None = None,
    capstone_hardened: bool = False,
) -> Lab:
    """Start the lab server on a free loopback port and return its :class:`Lab` handle.

    ``config``: lab config keys (``python -m labserver config`` lists them).
    ``redis_url``: a real Redis to use as the store; default ``$REDIS_URL`` if set, else the
    embedded fakeredis store. ``""`` forces the embedded store.
    ``clock``: a :class:`LabClock` to share (default: a new ticking clock).
    ``replace``: stop the lab this process started before (re-running the cell is safe);
    pass ``False`` to run several labs side by side, and stop each yourself.
    ``https``: serve HTTPS with a throwaway certificate for 127.0.0.1, which ``lab.http``
    (and every ``lab.client()``) trusts.
    ``vulnerable``: also mount chapter 9's deliberately vulnerable endpoints under /vulnerable/.
    ``store``: share this store client (e.g. another lab's ``lab.store``) instead of connecting
    to ``redis_url``: several API instances with one store, as in chapter 10.
    ``identity_provider``: also start chapter 04's identity provider and its two APIs (orders,
    billing), each on its own port, sharing this lab's store and clock: ``lab.idp``,
    ``lab.orders``, ``lab.billing``. They stop with the lab.
    """
    global _current
    if replace:
        with _current_lock:
            previous, _current = _current, None
        if previous is not None:
            previous.stop()
    url = store_module.redis_url_from_env() if redis_url is None else redis_url
    clock = LabClock() if clock is None else clock
    if vulnerable:
        config = {**(config or {}), "VULNERABLE_ENDPOINTS": True}
    if store is None:
        store = store_module.connect(url or None, clock=clock)
    app = create_app(config, store=store, clock=clock)
    tls = LabTLS() if https else None
    lab = Lab(app, ServerThread(app, ssl_context=tls.context if tls else None), tls)
    if identity_provider:
        from .federation import start_federation

        try:
            lab._federation = start_federation(lab)
        except BaseException:
            lab.stop()
            raise
    if capstone is not None:
        from .capstone.target import start_capstone

        try:
            lab._capstone = start_capstone(
                capstone, hardened=capstone_hardened, store=lab.store, clock=lab.clock
            )
        except BaseException:
            lab.stop()
            raise
    if replace:
        with _current_lock:
            _current = lab
    return lab


def current_lab() -> Lab | None:
    """The lab the last ``start_lab()`` (with ``replace=True``) started, if still running."""
    return _current
