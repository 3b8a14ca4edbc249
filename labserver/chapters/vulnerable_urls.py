"""Chapter 9: a DELIBERATELY VULNERABLE API and page that take the access token in the URL.

Mounted with the other vulnerable endpoints (``start_lab(vulnerable=True)``, config
``VULNERABLE_ENDPOINTS``), announced the same way (an ``X-Lab-Warning`` header). The one
mistake: the access token comes in the query, ``?access_token=...`` (RFC 6750 section 2.3, which
says it "SHOULD NOT" be used). The token itself is verified by every rule of the lab.

===============================================  ==============================================
endpoint                                         what it does
===============================================  ==============================================
``GET /vulnerable/url-token/me?access_token=``   the caller, as ``/api/me`` says it
``GET /vulnerable/url-token/page?access_token=`` the caller's page, which shows an image from
  ``&embed=URL&referrer_policy=P``                 ``embed`` (another site on loopback: a banner,
                                                 a tracking pixel) and sends
                                                 ``Referrer-Policy: P`` (default ``unsafe-url``;
                                                 ``unset``: none, the browser's default)
``GET /vulnerable/url-token/access-log?n=``      the lab's last ``n`` requests as anyone who
                                                 reads its logs sees them (an operator, a log
                                                 service, a leaked log file)
===============================================  ==============================================

The lab's request log keeps these paths' queries whole, as an ordinary access log does; every
other path of the lab has its credentials abbreviated there, and refuses them in the query
(:mod:`labserver.url_tokens`).
"""

from __future__ import annotations

import html

from flask import Blueprint, Response, current_app, jsonify, request

from ..access_tokens import TokenRejected, verify_access_token
from ..app import lab_state
from ..http_errors import AuthenticationRequired, InvalidRequest, InvalidToken
from ..url_tokens import takes_token_in_query
from .attacker_site import loopback_url
from .tokens import policy
from .vulnerable import WARNING

bp = Blueprint("vulnerable_urls", __name__, url_prefix="/vulnerable/url-token")

#: create_app registers this blueprint only when this config key is true (as vulnerable.py).
REGISTER_IF = "VULNERABLE_ENDPOINTS"

PREFIX = "/vulnerable/url-token/"
#: What ``referrer_policy`` may be: the W3C Referrer Policy tokens, or ``unset`` (no header).
REFERRER_POLICIES = (
    "unset",
    "no-referrer",
    "no-referrer-when-downgrade",
    "same-origin",
    "origin",
    "strict-origin",
    "origin-when-cross-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
)
#: The most lines ``access-log`` returns.
MAX_LINES = 200


def init_app(app) -> None:
    """The lab's request log keeps this blueprint's URLs whole, as an ordinary access log."""
    app.extensions["lab"].request_log.keep_full_urls_under(PREFIX)


@bp.after_request
def announce(response):
    response.headers["X-Lab-Warning"] = WARNING
    return response


def _query_token() -> str:
    """Mistake: the token is read from the URL's query."""
    values = request.args.getlist("access_token")
    if len(values) > 1:
        raise InvalidRequest("access_token is sent more than once")
    if request.headers.get("Authorization"):
        raise InvalidRequest(
            "send the token one way only (RFC 6750 section 2); this endpoint reads the query"
        )
    if not values or not values[0]:
        raise AuthenticationRequired("send the access token in the URL: ?access_token=...")
    return values[0]


def _verified() -> dict:
    state = lab_state()
    try:
        return verify_access_token(_query_token(), state.keys, policy(), state.clock.now()).claims
    except TokenRejected as exc:
        raise InvalidToken(str(exc)) from None


def _roles(claims: dict) -> list[str]:
    roles = claims.get("roles")
    return [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else []


@bp.get("/me")
@takes_token_in_query
def me():
    """The caller named by the token in the query."""
    claims = _verified()
    return jsonify(
        warning=WARNING,
        accepted=True,
        how="the access token came in the URL's query",
        sub=claims["sub"],
        roles=_roles(claims),
    )


@bp.get("/page")
@takes_token_in_query
def page():
    """The caller's page: an image from ``embed`` and ``Referrer-Policy: referrer_policy``."""
    chosen = request.args.get("referrer_policy", "unsafe-url")
    if chosen not in REFERRER_POLICIES:
        raise InvalidRequest(f"referrer_policy must be one of {', '.join(REFERRER_POLICIES)}")
    embed = request.args.get("embed")
    image = ""
    if embed is not None:
        src = html.escape(loopback_url(embed, "embed"), quote=True)
        image = f'<p><img id="banner" src="{src}" alt="" width="1" height="1"></p>'
    claims = _verified()
    user = html.escape(claims["sub"])
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{user}\'s account</title><link rel="icon" href="data:,"></head><body>'
        f"<h1>{user}'s account</h1><p>Signed in as <b>{user}</b>, by the token in this "
        f"page's URL.</p>{image}</body></html>"
    )
    response = Response(body, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    if chosen != "unset":
        response.headers["Referrer-Policy"] = chosen
    return response


@bp.get("/access-log")
def access_log():
    """The lab's last ``n`` requests (default 20), as its log holds them: what anyone who
    reads the server's logs gets."""
    n = request.args.get("n", "20")
    if not (n.isascii() and n.isdigit() and 0 < int(n) <= MAX_LINES):
        raise InvalidRequest(f"n must be a whole number from 1 to {MAX_LINES}")
    entries = lab_state().request_log.last(int(n))
    return jsonify(
        warning=WARNING,
        service=current_app.config["SERVICE_NAME"],
        lines=[f"{e.method} {e.path} {e.status}" for e in entries],
    )
