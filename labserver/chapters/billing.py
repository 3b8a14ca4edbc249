"""Chapter 04: the billing API, an app of its own (``APP_ROLE = "billing"``).

Like orders, it verifies tokens with the identity provider's JWKS alone, for the audience
``billing``. It is called by the orders service on a user's behalf (a token exchanged for
``billing``, whose ``act`` claim names orders), and by services as themselves.

* ``POST /charges``    charge the token's user for an order (scope ``billing:charge``); the
  answer says whom it charged, and who acted for them
* ``GET  /invoices``   the caller's charges (scope ``billing:read``); a service token sees all
"""

from __future__ import annotations

import json

from flask import Blueprint, jsonify

from ..app import lab_state
from ..http_errors import InvalidRequest
from ..inputs import json_object
from .orders import caller, init_resource_server

bp = Blueprint("billing", __name__)

ROLES = ("billing",)
CHARGES_KEY = "lab:billing:charges"


def init_app(app) -> None:
    init_resource_server(app, "billing")


@bp.post("/charges")
def charge():
    """Charge the token's subject; record who acted on their behalf (``act``)."""
    claims = caller("billing:charge")
    body = json_object()
    order, cents = body.get("order"), body.get("amount_cents")
    if not isinstance(order, str) or not 0 < len(order) <= 40:
        raise InvalidRequest("'order' must be an order id (a string of 1 to 40 characters)")
    if not isinstance(cents, int) or isinstance(cents, bool) or not 0 < cents <= 10**7:
        raise InvalidRequest("'amount_cents' must be a whole number of cents, 1 to 10000000")
    act = claims.get("act")
    charge = {
        "charged": claims["sub"],
        "order": order,
        "amount_cents": cents,
        "acting_party": act.get("sub") if isinstance(act, dict) else None,
        "client_id": claims["client_id"],
        "scope": claims.get("scope", ""),
    }
    lab_state().store.rpush(CHARGES_KEY, json.dumps(charge))
    return jsonify(charge)


@bp.get("/invoices")
def invoices():
    """The caller's charges (every charge, for a service calling as itself)."""
    claims = caller("billing:read")
    charges = [json.loads(c) for c in lab_state().store.lrange(CHARGES_KEY, 0, 999)]
    if claims["sub"] != claims["client_id"]:
        charges = [c for c in charges if c["charged"] == claims["sub"]]
    return jsonify(sub=claims["sub"], invoices=charges)
