"""Chapter 04: the orders API, an app of its own (``APP_ROLE = "orders"``).

It trusts the identity provider at ``RS_ISSUER`` and nothing else: tokens are verified with
its JWKS alone (:mod:`labserver.oauth.resource`), for the audience ``orders``.

* ``GET  /orders``               the caller's orders (scope ``orders:read``); a service token
  (client credentials: ``sub`` is the client) sees everyone's
* ``POST /orders/<id>/pay``      pay an order (scope ``orders:write``): orders calls billing on
  the user's behalf, with a token it gets by token exchange (RFC 8693), and says which token
  went where
"""

from __future__ import annotations

import requests
from flask import Blueprint, current_app, jsonify, request

from ..app import lab_state
from ..config import Option
from ..http_errors import BadGateway, NotFound, ServiceUnavailable
from ..oauth import dpop
from ..oauth.clients import CLIENT_SECRETS
from ..oauth.resource import ResourceServer
from ..oauth.token_exchange import ACCESS_TOKEN_TYPE
from ..remote_keys import RemoteKeySet

bp = Blueprint("orders", __name__)

ROLES = ("orders",)

OPTIONS = (
    Option(
        "RS_ISSUER",
        "",
        "Chapter 04: the identity provider's issuer URL an API trusts (its JWKS is at "
        "<issuer>/.well-known/jwks.json).",
    ),
    Option("RS_JWKS_MIN_INTERVAL", 30, "Chapter 04: as EDGE_JWKS_MIN_INTERVAL, for an API."),
    Option("ORDERS_BILLING_URL", "", "Chapter 04: where the orders API reaches billing."),
)

#: The demo orders, per user: (id, item, amount in cents).
ORDERS = {
    "alice": (("A-1001", "The Annotated Alice", 1999), ("A-1002", "A pocket watch", 4500)),
    "bob": (("B-2001", "A yellow hard hat", 2500),),
    "admin": (),
}
SERVICE_CLIENT = "orders-service"


def init_resource_server(app, audience: str) -> None:
    """Give ``app`` its :class:`ResourceServer` for ``audience`` (shared with billing)."""
    state = app.extensions["lab"]
    issuer = app.config["RS_ISSUER"]
    app.extensions["lab.resource"] = ResourceServer(
        audience=audience,
        issuer=issuer,
        keys=RemoteKeySet(
            f"{issuer}/.well-known/jwks.json",
            clock=state.clock,
            min_interval=app.config["RS_JWKS_MIN_INTERVAL"],
            user_agent=app.config["SERVICE_NAME"],
        ),
        replay=dpop.ReplayCache(state.store, prefix=f"lab:{audience}:dpop-jti:"),
    )


def init_app(app) -> None:
    init_resource_server(app, "orders")


def caller(*scopes: str) -> dict:
    """The verified claims of this request's token, which must carry ``scopes``."""
    server: ResourceServer = current_app.extensions["lab.resource"]
    state = lab_state()
    url = (state.own_url or request.host_url.rstrip("/")) + request.path
    return server.authenticate(request, url, scopes, state.clock.now())


def _paid_key(user: str) -> str:
    return f"lab:orders:paid:{user}"


def _orders_of(user: str, paid: set[str]) -> list[dict]:
    return [
        {"id": i, "item": item, "amount_cents": cents, "paid": i in paid}
        for i, item, cents in ORDERS.get(user, ())
    ]


@bp.get("/orders")
def list_orders():
    """The caller's orders (everyone's, for a service calling as itself)."""
    claims = caller("orders:read")
    store = lab_state().store
    users = list(ORDERS) if claims["sub"] == claims["client_id"] else [claims["sub"]]
    orders = [
        {"user": u, **o} for u in users for o in _orders_of(u, set(store.smembers(_paid_key(u))))
    ]
    return jsonify(sub=claims["sub"], client_id=claims["client_id"], orders=orders)


def _unavailable(answer: requests.Response, what: str) -> None:
    """A 503 from the next hop (its store, or its own dependency, is down) stays a 503 here:
    it could not decide, which is not a refusal (a 502 would say it answered wrongly)."""
    if answer.status_code == 503:
        try:
            why = str(answer.json().get("error_description", ""))[:200]
        except (ValueError, AttributeError):
            why = ""
        raise ServiceUnavailable(f"{what}: {why}" if why else what)


@bp.post("/orders/<order_id>/pay")
def pay(order_id: str):
    """Pay one of the caller's orders: exchange the user's token for one billing accepts,
    then call billing with it."""
    claims = caller("orders:write")
    order = next((o for o in ORDERS.get(claims["sub"], ()) if o[0] == order_id), None)
    if order is None:
        raise NotFound(f"{claims['sub']} has no order {order_id[:40]!r}")
    user_token = request.headers["Authorization"].split(" ", 1)[1].strip()
    config = current_app.config
    http = requests.Session()
    http.trust_env = False
    http.headers["User-Agent"] = config["SERVICE_NAME"]  # the log shows who called
    try:
        exchanged = http.post(
            config["RS_ISSUER"] + "/oauth2/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token": user_token,
                "subject_token_type": ACCESS_TOKEN_TYPE,
                "audience": "billing",
                "scope": "billing:charge",
            },
            auth=(SERVICE_CLIENT, CLIENT_SECRETS[SERVICE_CLIENT]),
            timeout=5,
        )
    except requests.RequestException as exc:
        raise ServiceUnavailable(
            f"orders cannot reach the identity provider for a billing token ({type(exc).__name__})"
        ) from None
    _unavailable(exchanged, "the identity provider cannot issue a billing token now")
    if exchanged.status_code != 200:
        raise BadGateway(f"the token exchange was refused: {exchanged.text[:300]}")
    billing_token = exchanged.json()["access_token"]
    try:
        charged = http.post(
            config["ORDERS_BILLING_URL"] + "/charges",
            json={"order": order[0], "amount_cents": order[2]},
            headers={"Authorization": f"Bearer {billing_token}"},
            timeout=5,
        )
    except requests.RequestException as exc:
        raise ServiceUnavailable(f"orders cannot reach billing ({type(exc).__name__})") from None
    _unavailable(charged, "billing cannot take the charge now")
    if charged.status_code != 200:
        raise BadGateway(f"billing refused the charge: {charged.text[:300]}")
    lab_state().store.sadd(_paid_key(claims["sub"]), order[0])
    return jsonify(
        order=order[0],
        paid=True,
        billing=charged.json(),
        token_sent_to_billing={
            "issued_token_type": exchanged.json().get("issued_token_type"),
            "scope": exchanged.json().get("scope"),
        },
    )
