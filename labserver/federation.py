"""Chapter 04's systems, started next to a lab: an identity provider and two APIs.

    >>> lab = start_lab(identity_provider=True)
    >>> lab.idp.url, lab.orders.url, lab.billing.url      # three origins, three ports

Each is an app of its own (``APP_ROLE``) on its own loopback port, sharing the lab's store and
clock, so that "who issues" and "who verifies" are visibly separate systems. They stop with the
lab. :func:`federation_log` merges their request logs (and the lab's) in the order requests
arrived, so a notebook can show a flow hop by hop.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from .requestlog import LoggedRequest


@dataclass
class Federation:
    """The identity provider and the APIs that trust it (each a :class:`~labserver.lab.Lab`)."""

    idp: object
    orders: object
    billing: object
    #: The reports job's private key (it signs its client assertions with it: private_key_jwt).
    reports_key: ec.EllipticCurvePrivateKey = field(repr=False)

    @property
    def systems(self) -> list:
        return [self.idp, self.orders, self.billing]

    def stop(self) -> None:
        for system in self.systems:
            system.stop()

    def reports_assertion(self, lifetime: int = 60) -> str:
        """A client assertion for the reports job (``private_key_jwt``, RFC 7523 section 3):
        a JWT it signs with its own key, saying "I am reports-job" to this provider only,
        for ``lifetime`` seconds, once (its ``jti`` is new each time)."""
        now = int(self.idp.clock.now())
        claims = {
            "iss": "reports-job",
            "sub": "reports-job",
            "aud": self.idp.url,
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16),
        }
        return jwt.encode(
            claims, self.reports_key, algorithm="ES256", headers={"kid": "reports-job-1"}
        )


def start_federation(lab) -> Federation:
    """Start the identity provider, then orders and billing, all trusting it."""
    from .lab import start_lab

    shared = {"store": lab.store, "clock": lab.clock, "replace": False}
    reports_key = ec.generate_private_key(ec.SECP256R1())
    reports_jwk = {
        **ECAlgorithm.to_jwk(reports_key.public_key(), as_dict=True),
        "kid": "reports-job-1",
        "alg": "ES256",
        "use": "sig",
    }
    idp = start_lab(
        {
            "APP_ROLE": "identity-provider",
            "SERVICE_NAME": "idp",
            "IDP_BFF_REDIRECT_URI": f"{lab.url}/bff/callback",
            "IDP_REPORTS_JWKS": {"keys": [reports_jwk]},
        },
        **shared,
    )
    billing = start_lab(
        {"APP_ROLE": "billing", "SERVICE_NAME": "billing", "RS_ISSUER": idp.url}, **shared
    )
    orders = start_lab(
        {
            "APP_ROLE": "orders",
            "SERVICE_NAME": "orders",
            "RS_ISSUER": idp.url,
            "ORDERS_BILLING_URL": billing.url,
        },
        **shared,
    )
    idp.app.config["IDP_APIS"] = {"orders": orders.url, "billing": billing.url}
    # Chapter 05's BFF signs in through the provider and calls orders with its tokens.
    lab.app.config.update(BFF_ISSUER_URL=idp.url, BFF_ORDERS_URL=orders.url)
    return Federation(idp=idp, orders=orders, billing=billing, reports_key=reports_key)


def federation_log(*labs) -> list[LoggedRequest]:
    """Every request the given labs answered, in the order they arrived."""
    entries = itertools.chain.from_iterable(lab.request_log.entries for lab in labs)
    return sorted(entries, key=lambda e: e.arrived)
