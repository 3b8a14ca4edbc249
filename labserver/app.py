"""``create_app``: the lab's Flask app, one blueprint per chapter, JSON errors everywhere.

A chapter adds itself with one line in :data:`BLUEPRINTS`. Its module provides

* ``bp``: a :class:`flask.Blueprint` with its endpoints;
* optionally ``OPTIONS``: a list of :class:`~labserver.config.Option` (its config keys);
* optionally ``init_app(app)``: anything to do once per app, e.g.
  :func:`~labserver.auth.register_authenticator`;
* optionally ``REGISTER_IF``: a config key; the blueprint is mounted only when it is true;
* optionally ``ROLES``: the ``APP_ROLE`` values it belongs to (default ``("lab",)``): chapter 04's
  identity provider and APIs are apps of their own, each with the core and its own blueprint.

Views reach the lab's shared parts through :func:`lab_state` (store, clock, request log).
"""

from __future__ import annotations

import importlib
import json
import traceback
from dataclasses import dataclass, field
from typing import Any

import redis
from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException

from .clock import LabClock
from .config import CORE_OPTIONS, Option, merge
from .http_errors import LabError, StoreUnavailable, error_response
from .keys import KeyRing
from .requestlog import RequestLog
from .store import UNREACHABLE, connect, count_round_trips, describe
from .users import seed_demo_users

#: The chapters' blueprint modules, registered in this order. One line per chapter.
BLUEPRINTS = (
    "labserver.chapters.core",
    "labserver.chapters.sessions",
    "labserver.chapters.tokens",
    "labserver.chapters.revocation",
    "labserver.chapters.bff",
    "labserver.chapters.casebook",
    "labserver.chapters.browser_pages",  # chapters 07 and 08
    "labserver.chapters.attacker_site",  # APP_ROLE attacker (chapters 07 and 08)
    "labserver.chapters.vulnerable",  # mounted only with VULNERABLE_ENDPOINTS (chapter 9)
    "labserver.chapters.vulnerable_urls",  # the token in a URL; with VULNERABLE_ENDPOINTS
    "labserver.chapters.edge",  # mounted only with EDGE_JWKS_URL (chapter 10)
    "labserver.chapters.identity_provider",  # APP_ROLE identity-provider (chapter 04)
    "labserver.chapters.orders",  # APP_ROLE orders (chapter 04)
    "labserver.chapters.billing",  # APP_ROLE billing (chapter 04)
    "labserver.chapters.capstone",  # APP_ROLE capstone (chapter 11)
)


class StoreUnreachableAtStart(RuntimeError):
    """The lab could not reach its store while starting (raised by ``create_app``)."""


@dataclass
class LabState:
    """What every blueprint shares: ``app.extensions["lab"]``."""

    store: redis.Redis
    clock: LabClock
    keys: KeyRing
    request_log: RequestLog
    options: list[Option]
    authenticators: list = field(default_factory=list)
    #: The certificate a lab served over HTTPS uses, for the server's calls to itself.
    tls_cert: str | None = None
    #: The server's own address once it listens (set by start_lab), e.g. for the BFF.
    own_url: str | None = None
    #: Unexpected exceptions (answered with 500). Tests assert this stays empty.
    crashes: list[str] = field(default_factory=list)


def all_options() -> list:
    """Every config option: the core's and each chapter's, in course order."""
    options = list(CORE_OPTIONS)
    for name in BLUEPRINTS:
        options += getattr(importlib.import_module(name), "OPTIONS", ())
    return options


def lab_state() -> LabState:
    """The current app's :class:`LabState` (inside a request or app context)."""
    return current_app.extensions["lab"]


def create_app(
    config: dict[str, Any] | None = None,
    *,
    store: redis.Redis | None = None,
    clock: LabClock | None = None,
    keys: KeyRing | None = None,
) -> Flask:
    """Build the lab app.

    ``config``: keys from ``python -m labserver config`` (unknown keys raise ``KeyError``).
    ``store``: a redis-py client; default a new embedded fakeredis server on ``clock``'s time.
    ``clock``: the :class:`LabClock` every time decision uses; default a ticking one.
    ``keys``: the :class:`KeyRing` that signs and verifies tokens; default new keys.
    """
    modules = [importlib.import_module(name) for name in BLUEPRINTS]
    options = list(CORE_OPTIONS) + [o for m in modules for o in getattr(m, "OPTIONS", ())]

    app = Flask("labserver")
    app.config.update(merge(options, config, flask_keys=set(app.config)))
    app.json.sort_keys = False  # answers read top to bottom as the code writes them

    clock = LabClock() if clock is None else clock
    store = count_round_trips(connect(clock=clock) if store is None else store)
    request_log = RequestLog(
        clock.now, service=app.config["SERVICE_NAME"], maxlen=app.config["REQUEST_LOG_SIZE"]
    )
    app.extensions["lab"] = LabState(
        store=store, clock=clock, keys=keys or KeyRing(), request_log=request_log, options=options
    )
    app.wsgi_app = request_log.middleware(app.wsgi_app)
    _register_error_handlers(app)

    if app.config["SEED_DEMO_USERS"]:
        try:
            seed_demo_users(store)
        except UNREACHABLE as exc:
            raise StoreUnreachableAtStart(
                f"the lab could not reach its store at {describe(store)} ({exc}). "
                "Start that Redis server, or unset REDIS_URL to use the embedded store."
            ) from None

    for module in modules:
        if getattr(module, "REGISTER_IF", None) and not app.config[module.REGISTER_IF]:
            continue
        if app.config["APP_ROLE"] not in getattr(module, "ROLES", ("lab",)):
            continue
        app.register_blueprint(module.bp)
        if hasattr(module, "init_app"):
            module.init_app(app)
    return app


def _where(exc: BaseException) -> str:
    """The innermost frame of the lab's own code in ``exc``'s traceback, as ``file:line``."""
    where = "?"
    for frame, line in traceback.walk_tb(exc.__traceback__):
        path = frame.f_code.co_filename
        if "labserver" in path:
            where = f"{path[path.rindex('labserver') :]}:{line}"
    return where


def _register_error_handlers(app: Flask) -> None:
    @app.after_request
    def json_redirects(response):
        # werkzeug's own redirects (a missing trailing slash, merged double slashes) bypass the
        # error handlers, carry an HTML page and name this host in full. A redirect on this same
        # host goes as a path, which a proxy serving the lab under a prefix rewrites to keep it
        # (jupyter-server-proxy leaves a full URL alone); and the lab answers JSON, redirects
        # included.
        location = response.headers.get("Location", "")
        if 300 <= response.status_code < 400 and location.startswith(request.host_url):
            response.headers["Location"] = "/" + location[len(request.host_url) :]
        if 300 <= response.status_code < 400 and response.mimetype == "text/html":
            location = response.headers.get("Location", "")
            response.set_data(json.dumps({"redirect_to": location}))
            response.mimetype = "application/json"
        return response

    @app.errorhandler(LabError)
    def lab_error(exc: LabError):
        return exc.response()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # werkzeug's own 404/405/413/...: same JSON shape, its headers (e.g. Allow) kept.
        original = getattr(exc, "original_exception", None)
        if original is not None and not isinstance(original, HTTPException):
            # Flask wraps an exception raised outside the view (an after_request hook, say) in
            # an InternalServerError: still a crash, and recorded as one.
            return crash(original)
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        code = (exc.name or "error").lower().replace(" ", "_")
        description = exc.description or exc.name
        if exc.code == 404:
            description = f"no route {request.path!r}; GET / lists every route"
        elif exc.code == 405:
            allowed = headers.get("Allow", "-")
            description = f"{request.method} is not allowed on {request.path!r}; allowed: {allowed}"
        return error_response(exc.code or 400, code, description, headers)

    for unreachable in UNREACHABLE:

        @app.errorhandler(unreachable)
        def store_down(exc: Exception):
            return StoreUnavailable(
                f"the store ({describe(lab_state().store)}) is unreachable, so the request is "
                "refused rather than decided without it"
            ).response()

    @app.errorhandler(Exception)
    def crash(exc: Exception):
        # Never expected: every client mistake is a LabError. Recorded so tests can see it.
        lab_state().crashes.append(f"{type(exc).__name__} at {_where(exc)}: {exc}"[:500])
        return error_response(500, "server_error", "the lab failed unexpectedly; see lab.crashes")
