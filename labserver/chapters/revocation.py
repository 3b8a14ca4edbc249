"""Chapter 3: revoking tokens that are already out there, and what each way costs.

Endpoints:

* ``POST /oauth/revoke``            ``token=...`` (a form, as RFC 7009 has it, or JSON). An access
  token goes on the deny list until its ``exp`` plus the leeway; a refresh token's whole family is
  revoked. Always 200, for unknown or invalid tokens too: RFC 7009 section 2.2, since the client
  could do nothing useful with an error and the token is unusable either way.
* ``POST /oauth/introspect``        ``token=...``: RFC 7662, for resource servers (here: admin).
  ``{"active": true, ...}`` for a live token, ``{"active": false}`` with no reason otherwise.

Modelled on the RFCs, with one simplification: no client authentication (RFC 7009 section 2.1
asks confidential clients to authenticate and the server to check the token is theirs).
* ``POST /oauth/logout-everywhere`` the caller's token version is bumped and every refresh-token
  family revoked.
* ``GET /api/me/version-checked``   like ``/api/me``, plus the token-version check (1 store read)
* ``GET /api/me/deny-checked``      like ``/api/me``, plus the deny-list check (1 store read)
* ``GET /api/reports``              needs the ``editor`` role *as stored now* (1 store read)
* ``GET /api/reports/from-token``   needs ``editor`` in the token's ``roles`` claim (0 reads)
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..access_tokens import TokenRejected, verify_access_token
from ..app import lab_state
from ..auth import Principal, require_credential, require_role
from ..http_errors import Forbidden, InvalidToken
from ..inputs import json_or_form_object, string_field
from ..refresh_tokens import refresh_token_state, revoke_refresh_token, revoke_user_families
from ..revocation import deny, is_denied, token_version_problem
from ..users import bump_token_version, get_user
from .tokens import policy

bp = Blueprint("revocation", __name__)


def _verified_claims(token: str) -> dict | None:
    """The claims of ``token`` if it is one of the lab's valid access tokens, else None."""
    state = lab_state()
    try:
        return verify_access_token(token, state.keys, policy(), state.clock.now()).claims
    except TokenRejected:
        return None


@bp.post("/oauth/revoke")
def revoke():
    """RFC 7009: revoke an access token (deny list) or a refresh token (its family)."""
    token = string_field(json_or_form_object(), "token", max_length=8192)
    state = lab_state()
    claims = _verified_claims(token)
    if claims is not None:
        deny(
            state.store,
            state.clock,
            claims,
            leeway=policy().leeway,
            reason="revoked by its holder (RFC 7009)",
        )
    else:
        revoke_refresh_token(state.store, token, reason="revoked by its holder (RFC 7009)")
    return jsonify({})  # 200 whatever the token was: RFC 7009 section 2.2


@bp.post("/oauth/introspect")
@require_role("admin")
def introspect(principal: Principal):
    """RFC 7662: is this token active right now, every check included? No reasons given."""
    token = string_field(json_or_form_object(), "token", max_length=8192)
    state = lab_state()
    claims = _verified_claims(token)
    if claims is not None:
        if is_denied(state.store, claims) or token_version_problem(state.store, claims):
            return jsonify(active=False)
        # The token's own claims cannot override the answer's: a claim named "active" stays out.
        return jsonify(
            {
                "active": True,
                "token_type": "Bearer",
                **{k: v for k, v in claims.items() if k not in ("active", "token_type")},
            }
        )
    refresh = refresh_token_state(state.store, state.clock, token)
    if refresh is not None:  # RFC 7662 defines no token_type for refresh tokens; none is given
        return jsonify(active=True, username=refresh["username"], exp=refresh["exp"])
    return jsonify(active=False)


@bp.post("/oauth/logout-everywhere")
@require_role()  # a revoked token (deny list, old version) may not log its owner out
def logout_everywhere(principal: Principal):
    """End every token of the caller: bump the token version, revoke all refresh families."""
    require_credential("bearer")
    store = lab_state().store
    version = bump_token_version(store, principal.user.username)
    if version is None:
        raise InvalidToken("the token's user no longer exists (re-checked in the store)")
    families = revoke_user_families(store, principal.user.username, "logged out everywhere")
    return jsonify(token_version=version, refresh_families_revoked=families)


@bp.get("/api/me/version-checked")
def me_version_checked():
    """``/api/me``, refusing tokens older than the user's current token version."""
    principal = require_credential("bearer")
    problem = token_version_problem(lab_state().store, principal.claims)
    if problem:
        raise InvalidToken(f"revoked: {problem}")
    return jsonify(
        sub=principal.user.username, roles=list(principal.user.roles), checked="token version"
    )


@bp.get("/api/me/deny-checked")
def me_deny_checked():
    """``/api/me``, refusing tokens on the deny list."""
    principal = require_credential("bearer")
    if is_denied(lab_state().store, principal.claims):
        raise InvalidToken("revoked: the token is on the deny list")
    return jsonify(
        sub=principal.user.username, roles=list(principal.user.roles), checked="deny list"
    )


@bp.get("/api/reports")
def reports():
    """A sensitive endpoint: the ``editor`` role is re-read from the store on every request."""
    principal = require_credential("bearer")
    user = get_user(lab_state().store, principal.user.username)
    if user is None or not user.has_role("editor"):
        raise Forbidden(
            "the reports need the editor role, which the user does not have now "
            "(re-checked in the store, whatever the token says)"
        )
    return jsonify(reports=["q3-revenue", "incidents"], roles_checked="in the store")


@bp.get("/api/reports/from-token")
def reports_from_token():
    """The same reports, trusting the ``roles`` claim of the token (no store read)."""
    principal = require_credential("bearer")
    if not principal.user.has_role("editor"):
        raise Forbidden("the reports need the editor role, which the token does not carry")
    return jsonify(reports=["q3-revenue", "incidents"], roles_checked="in the token")
