"""Chapter 04: the identity provider, an app of its own (``APP_ROLE = "identity-provider"``).

It issues tokens; it serves no API. The grant handling is Authlib's (:mod:`labserver.oauth`).

* ``GET  /.well-known/openid-configuration``    discovery metadata (OpenID Connect Discovery)
* ``GET  /.well-known/oauth-authorization-server``  the same, as RFC 8414 names it
* ``GET  /.well-known/jwks.json``    the public keys that verify its tokens
* ``GET  /oauth2/authorize``         checks the request, then shows a login and consent page
* ``POST /oauth2/authorize``         the page's form: log in, allow or deny; redirects back with
  ``code``, ``state`` and ``iss`` (or ``error``)
* ``POST /oauth2/token``             form-encoded, with client authentication: authorization
  code (+ PKCE), refresh, client credentials, token exchange (RFC 8693); a ``DPoP`` header
  binds the access token to the client's key (RFC 9449)
* ``POST /oauth2/revoke``            RFC 7009
* ``POST /oauth2/introspect``        RFC 7662
"""

from __future__ import annotations

import functools
import json
import threading
from html import escape
from urllib.parse import urlencode

from authlib.common.security import is_secure_transport
from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, current_app, g, jsonify, request

from ..app import lab_state
from ..config import Option
from ..http_errors import InvalidRequest
from ..oauth import dpop
from ..oauth.clients import registered_clients
from ..oauth.errors import is_description_refusal
from ..oauth.provider import PATHS, build_server
from ..users import check_password

bp = Blueprint("identity_provider", __name__)

ROLES = ("identity-provider",)

OPTIONS = (
    Option(
        "IDP_APIS",
        {},
        "Chapter 04: the APIs (name -> base URL) the identity provider issues tokens for; the "
        "names are the tokens' audiences.",
    ),
    Option(
        "IDP_BFF_REDIRECT_URI",
        "",
        "Chapter 04: where the lab's BFF receives its authorization code (its registration).",
    ),
    Option(
        "IDP_REPORTS_JWKS",
        {},
        "Chapter 04: the public keys of the reports-job client (private_key_jwt).",
    ),
)

_build_lock = threading.Lock()


def provider():
    """This app's Authlib server, made on first use (its issuer is its URL, known once the
    server listens)."""
    app = current_app
    server = app.extensions.get("lab.idp")
    if server is None:
        with _build_lock:
            server = app.extensions.get("lab.idp")
            if server is None:
                state = lab_state()
                issuer = state.own_url or request.host_url.rstrip("/")
                server = build_server(
                    app,
                    store=state.store,
                    clock=state.clock,
                    keys=state.keys,
                    issuer=issuer,
                    clients=registered_clients(
                        app.config["IDP_BFF_REDIRECT_URI"] or None,
                        app.config["IDP_REPORTS_JWKS"] or None,
                    ),
                    apis=dict(app.config["IDP_APIS"]),
                )
                server.replay = dpop.ReplayCache(state.store, prefix="lab:idp:dpop-jti:")
                app.extensions["lab.idp"] = server
    return server


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def metadata():
    """Where everything is, and what this provider supports."""
    return jsonify(provider().metadata())


@bp.get("/.well-known/jwks.json")
def jwks():
    """The public keys of the provider (never a secret, never a private part)."""
    return jsonify(lab_state().keys.jwks())


@bp.before_request
def _https_or_loopback():
    """OAuth over HTTPS, or plain HTTP to loopback only (RFC 6749 section 1.6; Authlib's own
    rule, :func:`is_secure_transport`), said once for every OAuth endpoint: Authlib would raise
    it inside its error handling at one endpoint and outside it (a 500) at the others."""
    if request.path.startswith("/oauth2/") and not is_secure_transport(request.url):
        raise InvalidRequest(
            f"OAuth 2 requires HTTPS (RFC 6749 section 1.6): this request came over plain "
            f"HTTP to {request.host[:80] or 'no valid Host'!r}, which is not loopback"
        )


def _quoting_safely(view):
    """Answer ``invalid_request`` where Authlib cannot build its own error: it quotes some
    parameters in ``error_description`` (``response_type``, ``redirect_uri``) and refuses a
    description with characters RFC 6749 does not allow there (:mod:`labserver.oauth.errors`)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except ValueError as exc:
            if not is_description_refusal(exc):
                raise
            raise InvalidRequest(
                "a parameter carries characters OAuth parameters may not (RFC 6749 appendix A: "
                "printable ASCII)"
            ) from None

    return wrapper


#: RFC 6749 section 5.2's words for the errors Authlib answers without a description (the lab's
#: answers always say which rule failed).
DEFAULT_DESCRIPTIONS = {
    "unsupported_grant_type": "this provider does not offer that grant_type (see "
    "grant_types_supported in its metadata; the password grant is never offered: RFC 9700 "
    "section 2.4)",
    "invalid_grant": "the grant (code, refresh token or assertion) is invalid, expired, revoked, "
    "or was issued to another client",
    "invalid_client": "client authentication failed",
    "invalid_request": "the request is missing a parameter, or has one that is malformed",
    "invalid_scope": "the scope asked for is unknown, or not one this client may have",
    "unauthorized_client": "this client may not use this grant type",
    "unsupported_response_type": "this provider offers response_type=code only",
    "access_denied": "the user or the provider refused the request",
}


@bp.after_request
def _describe(response: Response) -> Response:
    """Give every JSON error from Authlib an ``error_description``."""
    if response.mimetype == "application/json" and response.status_code >= 400:
        body = response.get_json(silent=True)
        if isinstance(body, dict) and body.get("error") and not body.get("error_description"):
            body["error_description"] = DEFAULT_DESCRIPTIONS.get(
                body["error"], "the request was refused"
            )
            response.set_data(json.dumps(body))
    return response


@bp.route("/oauth2/authorize", methods=["GET", "POST"])
@_quoting_safely
def authorize():
    """Check the authorization request; show the login page, or act on its form."""
    server = provider()
    _refuse_repeated_parameters()
    try:
        grant = server.get_consent_grant(end_user=None)
    except OAuth2Error as error:
        return server.handle_error_response(request, error)
    if request.method == "GET":
        return _login_page(grant)
    decision = request.form.get("decision")
    if decision == "deny":
        return server.create_authorization_response(grant=grant, grant_user=None)
    if decision != "allow":
        raise InvalidRequest("the form's decision must be 'allow' or 'deny'")
    username, password = request.form.get("username", ""), request.form.get("password", "")
    user = check_password(lab_state().store, username[:100], password[:200]) if username else None
    if user is None:
        return _login_page(grant, problem="Wrong username or password.", status=401)
    return server.create_authorization_response(grant=grant, grant_user=user)


@bp.post("/oauth2/token")
@_quoting_safely
def token():
    """The token endpoint: every grant, form-encoded, with client authentication."""
    server = provider()
    _refuse_repeated_parameters()
    proof = request.headers.get("DPoP")
    if proof is not None:
        try:
            verified = dpop.verify_proof(
                proof,
                htm="POST",
                htu=server.issuer + PATHS["token_endpoint"],
                now=server.clock.now(),
                replay=server.replay,
            )
        except dpop.DPoPError as exc:
            return _json(400, {"error": "invalid_dpop_proof", "error_description": str(exc)})
        g.dpop_jkt = verified.jkt
        g.token_extra = {"cnf": {"jkt": verified.jkt}}
    return server.create_token_response()


@bp.post("/oauth2/revoke")
@_quoting_safely
def revoke():
    """RFC 7009: a client revokes one of its tokens (200 even for an unknown token)."""
    server = provider()
    _refuse_repeated_parameters()
    return server.create_endpoint_response("revocation")


@bp.post("/oauth2/introspect")
@_quoting_safely
def introspect():
    """RFC 7662: is this token active, and what does it say?"""
    server = provider()
    _refuse_repeated_parameters()
    return server.create_endpoint_response("introspection")


def _refuse_repeated_parameters() -> None:
    """RFC 6749 section 3.1: request and response parameters must not be included more than
    once. Authlib checks some; this checks all, in the query and in the form."""
    for source in (request.args, request.form):
        for name, values in source.lists():
            if len(values) > 1:
                raise InvalidRequest(
                    f"the parameter {name[:40]!r} is sent more than once (RFC 6749 section 3.1)"
                )


def _json(status: int, body: dict) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _login_page(grant, problem: str = "", status: int = 200) -> Response:
    """The provider's own page: who asks, for what, and a login form (an HTML page, because a
    person reads it; everything else the provider says is JSON)."""
    client = grant.client
    scopes = grant.request.payload.scope or ""
    action = PATHS["authorization_endpoint"] + "?" + urlencode(list(request.args.items(multi=True)))
    rows = "".join(f"<li><code>{escape(s)}</code></li>" for s in scopes.split())
    note = f'<p class="problem">{escape(problem)}</p>' if problem else ""
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · lab identity provider</title>
<style>body{{font-family:sans-serif;max-width:30em;margin:3em auto}}
.problem{{color:#a00}} label{{display:block;margin:.5em 0}}</style></head>
<body><h1>Lab identity provider</h1>
<p><strong>{escape(client.client_id)}</strong> ({escape(client.description)}) asks for:</p>
<ul id="scopes">{rows}</ul>{note}
<form method="post" action="{escape(action)}">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button name="decision" value="allow">Sign in and allow</button>
<button name="decision" value="deny">Deny</button>
</form></body></html>"""
    response = Response(html, status=status, mimetype="text/html")
    # The login page must not be framed by another site (clickjacking) nor cached.
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app) -> None:
    if not isinstance(app.config["IDP_APIS"], dict):
        raise TypeError("IDP_APIS must map API names to URLs")
