"""What every lab has: a map of itself, health checks, "who am I", and user administration.

Endpoints:

* ``GET  /``                          the lab's name and every route it serves
* ``GET  /health``                    liveness; touches nothing (the benchmark's trivial endpoint)
* ``GET  /health/store``              readiness: pings the store, 503 when it is unreachable
* ``GET  /whoami``                    the caller, by any credential the lab knows
* ``GET  /admin/users``               every user with roles and token version (role ``admin``)
* ``PUT  /admin/users/<name>/roles``  replace a user's roles (role ``admin``); applies on the
  user's next request, because roles are read from the store on every request
* ``POST /admin/users/restore-demo``  re-create any demo user that was deleted (role ``admin``)

Every app with the core refuses a credential in the URL's query (:mod:`labserver.url_tokens`).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from .. import __version__, url_tokens
from ..app import lab_state
from ..auth import basic_authenticator, register_authenticator, require_role
from ..http_errors import InvalidRequest, NotFound
from ..inputs import json_object, string_list_field
from ..store import describe
from ..users import get_user, list_users, seed_demo_users, set_roles

bp = Blueprint("core", __name__)

#: Every app has the core: health checks, its map, who am I.
ROLES = ("lab", "identity-provider", "orders", "billing")


def init_app(app) -> None:
    """HTTP Basic is the credential every lab accepts (the admin endpoints use it); no app of
    the lab takes a token in its URL, and its pages send a strict Referrer-Policy."""
    register_authenticator(app, "basic", basic_authenticator, 'Basic realm="jwt-lab"')
    url_tokens.init_app(app)


@bp.get("/")
def index():
    """The lab's name, version, and every route with its methods."""
    routes = sorted(
        (rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"}))
        for rule in current_app.url_map.iter_rules()
        if rule.endpoint != "static"
    )
    return jsonify(
        lab="JWT vs Sessions: a hands-on lab",
        version=__version__,
        routes={path: methods for path, methods in routes},
    )


@bp.get("/health")
def health():
    """Liveness: the server answers. Reads nothing, so it measures the HTTP path alone."""
    return jsonify(status="ok")


@bp.get("/health/store")
def store_health():
    """Readiness: the store answers a PING (503 from the app's handler when it cannot)."""
    state = lab_state()
    state.store.ping()
    return jsonify(status="ok", store=describe(state.store))


@bp.get("/whoami")
@require_role()
def whoami(principal):
    """The caller as the lab sees them now, and which credential proved it."""
    return jsonify(principal.to_json())


@bp.get("/admin/users")
@require_role("admin")
def admin_list_users(principal):
    """Every user with current roles and token version."""
    return jsonify(users=[u.to_json() for u in list_users(lab_state().store)])


@bp.put("/admin/users/<username>/roles")
@require_role("admin")
def admin_set_roles(username, principal):
    """Replace ``username``'s roles with the body's ``{"roles": [...]}``."""
    roles = string_list_field(json_object(), "roles")
    store = lab_state().store
    if get_user(store, username) is None:
        raise NotFound(f"no user named {username!r}")
    try:
        user = set_roles(store, username, roles)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    if user is None:  # deleted between the two calls
        raise NotFound(f"no user named {username!r}")
    return jsonify(user.to_json())


@bp.post("/admin/users/restore-demo")
@require_role("admin")
def admin_restore_demo_users(principal):
    """Re-create deleted demo users (with their demo passwords); existing records are kept."""
    store = lab_state().store
    seed_demo_users(store)
    return jsonify(users=[u.to_json() for u in list_users(store)])
