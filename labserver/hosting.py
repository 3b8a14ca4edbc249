"""Where the learner's browser finds the lab: on a laptop, and behind JupyterHub or Binder.

On a laptop the browser and the kernel share a machine, so the lab's own address,
``http://127.0.0.1:PORT``, works for both. On a hub (JupyterHub, Binder) the kernel runs in a
container the browser cannot reach. The ecosystem's convention is jupyter-server-proxy, which
serves a local port at ``{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/`` on the Jupyter server's own
origin. Dask's dashboard link is the well-known example: it is a template formatted with the
environment. The lab does the same for every address it shows *for the learner's browser*.
Addresses the kernel calls itself stay on 127.0.0.1.

Through the proxy the lab sees the path without the prefix, and the prefix in
``X-Forwarded-Prefix``. Relative links work unchanged, and the proxy rewrites an absolute-path
``Location``. A cookie with ``Path=/``, though, would go to the whole Jupyter host, which on a hub
is every user's server. So the session cookies (chapter 1's and the BFF's) are scoped to the
prefix (:func:`cookie_path`). The cookies of pages that the kernel's own Chromium opens on
127.0.0.1 (chapter 08's ``/browser/``, the capstone's) keep their paths.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import Request

from .http_errors import InvalidRequest

#: A template for the lab's address in the learner's browser, formatted with ``scheme``,
#: ``host``, ``port`` and the environment's variables (as Dask's ``distributed.dashboard.link`` is).
LINK_VARIABLE = "LAB_BROWSER_LINK"
#: The link on a hub: jupyter-server-proxy, on the learner's own Jupyter server.
HUB_LINK = "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/"
#: The link everywhere else: the lab's own address.
LOCAL_LINK = "{scheme}://{host}:{port}/"

#: The variables that change a link: unset for the kernels whose outputs are saved or compared
#: (``labserver.jupyter.KERNEL_UNSET``), which show a laptop's links.
HOSTING_VARIABLES = (LINK_VARIABLE, "JUPYTERHUB_SERVICE_PREFIX")

PREFIX_HEADER = "X-Forwarded-Prefix"
_MAX_PREFIX = 512
# One or more path segments of RFC 3986 pchar, minus what a cookie's Path cannot hold (";", ",")
# and the quote and backslash.
_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~!$&'()*+=:@%-]+)+/?")
# An address a notebook may show as a link: http(s), or a path on the page's own origin; with
# no space or control character (browsers drop some of them, so "java\tscript:" is javascript:).
_LINKABLE = re.compile(r"(?:https?://|/)[^\x00-\x20\x7f]*", re.IGNORECASE)


class BrowserLink(str):
    """An address for the learner's browser: shown as a link in JupyterLab, as text elsewhere.

    On a hub it is a path on the Jupyter server's origin (``/user/alice/proxy/PORT/...``), which
    a link in the notebook resolves against the page the learner is on."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        from html import escape

        # A link only to http(s) or a path: a template could make ``javascript:...``, and a
        # kernel's own output is trusted HTML in JupyterLab (not sanitized).
        if not _LINKABLE.fullmatch(self):
            return f"<code>{escape(self)}</code>"
        return f'<a href="{escape(self)}" target="_blank">{escape(self)}</a>'


def link_template(environ: Mapping[str, str] | None = None) -> str:
    """The template in force: ``LAB_BROWSER_LINK``, else the hub's, else the local one."""
    environ = os.environ if environ is None else environ
    if environ.get(LINK_VARIABLE):
        return environ[LINK_VARIABLE]
    return HUB_LINK if environ.get("JUPYTERHUB_SERVICE_PREFIX") else LOCAL_LINK


def _fill(template: str, values: Mapping[str, object]) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]``. Names only: a format spec
    (``{port:>999999999}``, a gigabyte of spaces), a conversion, or an attribute or index
    (``{port.__class__}``) make no address, so they are refused, as garbage is."""
    parts = []
    for text, name, spec, conversion in string.Formatter().parse(template):
        parts.append(text)
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            field = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ValueError(f"{{{field}}} is not a plain {{name}}")
        parts.append(str(values[name]))
    return "".join(parts)


def browser_url(
    url: str, path: str = "/", *, environ: Mapping[str, str] | None = None
) -> BrowserLink:
    """The address of ``path`` on the lab at ``url`` (its own address, e.g.
    ``http://127.0.0.1:8000``), as the learner's browser must open it. A template that makes
    no address raises ValueError (and only that), saying why."""
    environ = dict(os.environ if environ is None else environ)
    template = link_template(environ)
    prefix = environ.get("JUPYTERHUB_SERVICE_PREFIX", "")
    environ["JUPYTERHUB_SERVICE_PREFIX"] = prefix if prefix.endswith("/") else prefix + "/"
    parts = urlsplit(url)
    where = {"scheme": parts.scheme, "host": parts.hostname, "port": parts.port}
    try:
        base = _fill(template, {**environ, **where})
        base.encode("utf-8")
    except (KeyError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        why = "not UTF-8" if isinstance(exc, UnicodeError) else f"{type(exc).__name__}: {exc}"
        raise ValueError(
            f"{LINK_VARIABLE}={template!r} cannot be formatted ({why}): "
            "use {scheme}, {host}, {port} and environment variables, e.g. "
            "'{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/'"
        ) from None
    return BrowserLink(base.rstrip("/") + "/" + path.lstrip("/"))


def forwarded_prefix(req: Request) -> str:
    """The path a proxy in front of the lab serves it under (``X-Forwarded-Prefix``, as
    jupyter-server-proxy sends it), without its trailing slash; "" when there is none.

    Anyone may send the header: it narrows where the sender's own cookies go, and names the
    origin the BFF's page has (:func:`browser_origins`, which says why that is safe)."""
    value = req.headers.get(PREFIX_HEADER)
    if value is None or value in ("", "/"):
        return ""
    if len(value) > _MAX_PREFIX or not _PREFIX.fullmatch(value):
        raise InvalidRequest(
            f"{PREFIX_HEADER} must be a path of at most {_MAX_PREFIX} URL characters, such as "
            "/user/alice/proxy/8000, with no ';', ',', quotes or spaces"
        )
    return value.rstrip("/")


def cookie_path(req: Request, path: str = "/") -> str:
    """``path`` as a cookie's ``Path`` for this request: under the proxy's prefix, if any, so
    that the cookie goes to this learner's lab only, not to the whole Jupyter host."""
    return forwarded_prefix(req) + path


def _forwarded_scheme(req: Request) -> str | None:
    """The scheme the browser used, as the front proxy says (``X-Forwarded-Proto``: JupyterHub's
    configurable-http-proxy or an ingress sends it; jupyter-server-proxy passes it on)."""
    scheme = req.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return scheme if scheme in ("http", "https") else None


def over_https(req: Request) -> bool:
    """Whether the browser reached the lab over HTTPS: directly, or through a proxy's prefix
    whose front proxy says so (``X-Forwarded-Proto``), though the last hop, from the proxy to
    the lab, is plain HTTP. Such a browser's cookies get ``Secure`` and a prefixed name."""
    if req.is_secure:
        return True
    return bool(forwarded_prefix(req)) and _forwarded_scheme(req) == "https"


def secure_cookie_name(req: Request, name: str) -> str:
    """``name`` with the strongest prefix browsers will keep for this request's cookie:
    ``__Host-`` over HTTPS (Secure, ``Path=/``, no Domain), ``__Secure-`` over HTTPS under a
    proxy's prefix (whose ``Path`` is not ``/``, so ``__Host-`` would make browsers drop the
    cookie), none over plain HTTP (both prefixes require Secure)."""
    if not over_https(req):
        return name
    return ("__Secure-" if forwarded_prefix(req) else "__Host-") + name


def browser_origins(req: Request, own_url: str) -> frozenset[str]:
    """The origins this request's page may have and still be the lab's own page: the lab's
    address, and, through a proxy, the origin the browser used (the proxy passes the browser's
    ``Host`` on, and a page of another origin can set neither that nor ``X-Forwarded-Prefix``
    without a CORS preflight, which the lab never grants). Without ``X-Forwarded-Proto`` the
    scheme is unknown, so both are taken."""
    if not forwarded_prefix(req):
        return frozenset({own_url})
    scheme = _forwarded_scheme(req)
    schemes = (scheme,) if scheme else ("http", "https")
    return frozenset({own_url, *(f"{s}://{req.host}" for s in schemes)})
