"""Chapters 07 and 08: another *site* on loopback, the attacker's (``APP_ROLE = "attacker"``).

The lab is ``http://127.0.0.1:<port>``; this app is reached as ``http://localhost:<port>``,
which Chromium counts as another site (``Sec-Fetch-Site: cross-site``), so SameSite applies
between them. Its pages send one kind of request to a URL of the lab:

* ``GET /send/link?to=URL``     a link the experiment clicks: a top-level GET navigation
* ``GET /send/form?to=URL``     a form the experiment submits: a top-level POST navigation
  (either with ``&auto=1``: the page's own script follows the link or submits the form as it
  loads, as a CSRF page does)
* ``GET /send/frame?to=URL``    an ``<iframe>`` of the URL: a third-party request
* ``GET /send/fetch?to=URL``    ``fetch(URL, {credentials: "include"})``; ``&method=POST``,
  ``&header=X-CSRF`` (a custom header, which needs a CORS preflight) as asked; the page's
  title then says what the script could read: ``read <status>`` or ``blocked``
* ``POST /collect``             where an injected script sends what it stole (kept in memory)
* ``GET /pixel.gif``            an image any page may embed (a tracking pixel, a banner): keeps
  the ``Referer`` the browser sent with it, which says which page embedded it (chapter 9)
* ``GET /loot``                 what arrived at ``/collect`` (``loot``) and at ``/pixel.gif``
  (``pixel``), oldest first

``to`` must be an http(s) URL of ``127.0.0.1`` or ``localhost``: the lab never points a
browser anywhere else.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, request

from ..app import lab_state
from ..http_errors import InvalidRequest, NotFound

bp = Blueprint("attacker_site", __name__)

ROLES = ("attacker",)

#: Requests a page of this site can make the browser send, by name.
KINDS = ("link", "form", "frame", "fetch")
#: The most /collect keeps, and the most bytes of one body.
LOOT_SIZE, LOOT_BYTES = 100, 16 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,39}")
#: RFC 3986's characters (unreserved, reserved, "%"): what ``to`` may be made of.
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")


#: A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def init_app(app) -> None:
    app.extensions["loot"] = []
    app.extensions["pixel"] = []
    app.extensions["loot_lock"] = threading.Lock()


def loopback_url(value: str, name: str = "to") -> str:
    """``value`` if it is an http(s) URL of 127.0.0.1 or localhost that a browser reads as
    Python does; else ``InvalidRequest`` naming the parameter ``name``."""
    # Only characters a URL may hold as they are: a browser reads a backslash as "/" and drops
    # tabs and newlines, so "http://evil.example<backslash>@127.0.0.1/" is 127.0.0.1 to
    # Python's urlsplit but evil.example to Chromium.
    plain = _URL_CHARACTERS.fullmatch(value) is not None
    try:
        parts = urlsplit(value)
        allowed = (
            parts.scheme in ("http", "https")
            and parts.hostname in LOOPBACK_HOSTS
            and "@" not in parts.netloc  # no user info, which is another way to hide a host
        )
    except ValueError:  # e.g. a malformed port or IPv6 literal
        allowed = False
    if len(value) > 2000 or not (plain and allowed):
        raise InvalidRequest(
            f"{name!r} must be an http(s) URL of 127.0.0.1 or localhost, in printable ASCII, "
            "with no backslash and no user info"
        )
    return value


def _target() -> str:
    return loopback_url(request.args.get("to", ""))


def _page(title: str, body: str) -> Response:
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<link rel="icon" href="data:,"></head><body><h1>the attacker\'s page</h1>{body}'
        "</body></html>"
    )
    return Response(page, mimetype="text/html")


def _script_literal(value) -> str:
    """``value`` as a JavaScript literal that is safe inside a <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")


@bp.get("/")
def index():
    """What this site is, and its pages."""
    return jsonify(
        site="the attacker's (another site than the lab's 127.0.0.1)",
        pages=[f"/send/{kind}?to=URL" for kind in KINDS] + ["/collect", "/pixel.gif", "/loot"],
    )


@bp.get("/send/<kind>")
def send(kind: str):
    """A page that makes the browser send one kind of request to ``to``."""
    to = _target()
    shown = html.escape(to, quote=True)
    auto = request.args.get("auto") == "1"
    if kind == "link":
        act = '<script>document.getElementById("go").click();</script>' * auto
        return _page("link", f'<a id="go" href="{shown}">a link to the lab</a>{act}')
    if kind == "form":
        act = '<script>document.getElementById("go").submit();</script>' * auto
        return _page(
            "form",
            f'<form id="go" method="post" action="{shown}">'
            '<input type="hidden" name="sent_by" value="attacker">'
            f'<button id="send" type="submit">send</button></form>{act}',
        )
    if kind == "frame":
        return _page("frame", f'<iframe id="go" src="{shown}"></iframe>')
    if kind == "fetch":
        method = request.args.get("method", "GET")
        if method not in ("GET", "POST"):
            raise InvalidRequest("'method' must be GET or POST")
        header = request.args.get("header", "")
        if header and not _HEADER_NAME.fullmatch(header):
            raise InvalidRequest("'header' must be a header name (letters, digits, hyphens)")
        options = {"credentials": "include", "method": method}
        if header:
            options["headers"] = {header: "1"}
        script = (
            f"fetch({_script_literal(to)}, {_script_literal(options)})"
            '.then(r => { document.title = "read " + r.status; })'
            '.catch(() => { document.title = "blocked"; });'
        )
        return _page("fetching", f"<script>{script}</script>")
    raise NotFound(f"no page {kind!r}; pages: {', '.join(KINDS)}")


def _keep(name: str, entry: dict) -> None:
    extensions = current_app.extensions
    with extensions["loot_lock"]:
        extensions[name][:] = extensions[name][-(LOOT_SIZE - 1) :] + [entry]


@bp.post("/collect")
def collect():
    """Keep what a script sent (its body, up to 16 KB), and answer nothing."""
    body = request.get_data(cache=False)[:LOOT_BYTES].decode("utf-8", "replace")
    _keep(
        "loot",
        {
            "arrived": lab_state().clock.now(),
            "origin": request.headers.get("Origin", "-"),
            "data": body,
        },
    )
    return Response(status=204)


@bp.get("/pixel.gif")
def pixel():
    """A 1x1 image; keeps the ``Referer`` it came with (the URL of the page that embedded it, as
    much of it as that page's ``Referrer-Policy`` let the browser send)."""
    _keep(
        "pixel",
        {
            "arrived": lab_state().clock.now(),
            "referer": request.headers.get("Referer", "-")[:LOOT_BYTES],
            "fetch_site": request.headers.get("Sec-Fetch-Site", "-")[:20],
        },
    )
    response = Response(PIXEL, mimetype="image/gif")
    response.headers["Cache-Control"] = "no-store"  # every page load asks again
    return response


@bp.get("/loot")
def loot():
    """What arrived at ``/collect`` and at ``/pixel.gif``, oldest first."""
    extensions = current_app.extensions
    with extensions["loot_lock"]:
        return jsonify(loot=list(extensions["loot"]), pixel=list(extensions["pixel"]))
