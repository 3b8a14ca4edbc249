"""Chapters 07 and 08: the lab's pages a real browser is pointed at, and cookies to compare.

* ``GET  /browser/samesite/set``   five cookies alike but for ``SameSite`` (Strict, Lax,
  None with Secure, None without Secure, and none at all), each ``Path=/browser/``
* ``GET|POST /browser/arrived``    a page that only says it arrived; the request log records
  which cookies came with it (and its ``Sec-Fetch-Site``)
* ``GET  /browser/scope/set``      cookies that test ``Secure``, the ``__Secure-``/``__Host-``
  prefixes, ``Path``, ``Domain`` and the size limit (:data:`SCOPE_COOKIES`); reached as
  ``http://127.0.0.1:<port>`` and as ``http://localhost:<port>``, it sets them for either host
* ``GET  /browser/scope/inside/``  a page inside the ``Path`` one cookie is scoped to
* ``GET  /browser/spa/``           a single-page app that keeps its access token in
  ``localStorage`` (the other storage choice next to chapter 05's BFF)
* ``POST /browser/logout/cookie-only``       answers with a cookie that expires the session
  cookie, and forgets nothing on the server
* ``POST /browser/logout/clear-site-data``   answers ``Clear-Site-Data: "cookies", "storage"``,
  and forgets nothing on the server either

None of them authenticates anyone: they are the pages and cookies the chapter's experiments
(``labserver.browser``) look at through Chromium.
"""

from __future__ import annotations

import html

from flask import Blueprint, Response, jsonify, make_response, request

from .bff import web_file
from .sessions import cookie_attributes, cookie_name

bp = Blueprint("browser_pages", __name__)

#: (cookie name, ``set_cookie`` keywords): alike but for SameSite, in the table's order.
SAMESITE_COOKIES = (
    ("strict", {"samesite": "Strict"}),
    ("lax", {"samesite": "Lax"}),
    ("none_secure", {"samesite": "None", "secure": True}),
    ("none_insecure", {"samesite": "None"}),
    ("unset", {}),
)

#: Browsers keep a cookie whose name and value together are at most this (RFC 6265bis 5.6).
MAX_COOKIE_BYTES = 4096
#: The cookie too large to keep: one byte over the limit.
BIG_COOKIE_BYTES = MAX_COOKIE_BYTES + 1

#: (Set-Cookie header line, what it tests), set by /browser/scope/set in this order.
SCOPE_COOKIES = (
    ("secure=1; Path=/; Secure", "Secure, over plain http"),
    ("__Secure-prefixed=1; Path=/; Secure", "__Secure-, with Secure"),
    ("__Host-prefixed=1; Path=/; Secure", "__Host-, Secure, Path=/, no Domain"),
    ("__Host-no-secure=1; Path=/", "__Host-, without Secure"),
    ("__Host-with-domain=1; Path=/; Secure; Domain=127.0.0.1", "__Host-, Domain=127.0.0.1"),
    ("__Host-localhost=1; Path=/; Secure; Domain=localhost", "__Host-, Domain=localhost"),
    ("inside=1; Path=/browser/scope/inside/", "Path=/browser/scope/inside/"),
    ("other_domain=1; Path=/; Domain=localhost", "Domain=localhost"),
    (f"big={'x' * (BIG_COOKIE_BYTES - 3)}; Path=/", f"{BIG_COOKIE_BYTES} bytes of name and value"),
    (f"fits={'x' * (MAX_COOKIE_BYTES - 4)}; Path=/", f"{MAX_COOKIE_BYTES} bytes of name and value"),
    ("small=1; Path=/", "an ordinary cookie"),
)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="icon" href="data:,"></head>
<body><h1>{title}</h1><p>{text}</p></body></html>
"""


def _page(title: str, text: str, status: int = 200) -> Response:
    return Response(_PAGE.format(title=title, text=text), status=status, mimetype="text/html")


@bp.get("/browser/samesite/set")
def set_samesite_cookies():
    """Set the five SameSite cookies (their names and attributes are in the answer)."""
    response = make_response(jsonify(set=[name for name, _ in SAMESITE_COOKIES]))
    for name, attributes in SAMESITE_COOKIES:
        response.set_cookie(name, "1", path="/browser/", **attributes)
    return response


@bp.route("/browser/arrived", methods=["GET", "POST"])
@bp.get("/browser/scope/inside/")
def arrived():
    """A page that says which cookie names came with it (the request log records them too)."""
    # escaped: any server on this host, whatever its port, can set a cookie named "<script>…"
    names = html.escape(", ".join(sorted(request.cookies))) or "none"
    return _page("arrived", f"{request.method} {request.path} arrived; cookies: {names}")


@bp.get("/browser/scope/set")
def set_scope_cookies():
    """Set the scoping cookies, one ``Set-Cookie`` line each (listed in the answer)."""
    response = make_response(jsonify(set=[what for _, what in SCOPE_COOKIES]))
    for line, _ in SCOPE_COOKIES:
        response.headers.add("Set-Cookie", line)
    return response


@bp.get("/browser/spa/")
def spa_page():
    """The single-page app that keeps its token in localStorage."""
    return web_file("spa.html", "text/html")


@bp.get("/browser/spa/app.js")
def spa_script():
    return web_file("spa.js", "text/javascript")


@bp.post("/browser/logout/cookie-only")
def logout_cookie_only():
    """Expire chapter 1's session cookie in the browser; the session stays in the store."""
    response = make_response(jsonify(cleared="the session cookie, in this browser only"))
    attributes = cookie_attributes(request)
    response.set_cookie(cookie_name(request), "", max_age=0, expires=0, **attributes)
    return response


@bp.post("/browser/logout/clear-site-data")
def logout_clear_site_data():
    """Ask the browser to drop this site's cookies and storage; the store keeps the session."""
    response = make_response(jsonify(asked="Clear-Site-Data: cookies, storage"))
    response.headers["Clear-Site-Data"] = '"cookies", "storage"'
    return response
