"""Chapter 10's multi-service experiment: one issuer, several API instances, one shared store.

Each instance is its own app on its own loopback port, sharing the issuer's store client (with
``REDIS_URL`` set, a real Redis). Requests are spread over the instances round-robin, in two
modes:

* **session**: ``GET /session/me`` with the session cookie; every instance reads the store;
* **jwt**: ``GET /edge/me`` with a bearer token; every instance verifies with the public keys
  from the issuer's JWKS and never touches the store.

:func:`run` drives both through the same story: the store up; the store down, at once and after
the tokens' lifetime; a spray of tokens with made-up kids; a key rotated at once (within and after
the instances' JWKS rate-limit window); and a key published ahead of its use. Each phase records
the answers, the store reads per request (from each instance's request log) and the JWKS fetches
the instances made.

    >>> with start_fleet(lab, instances=3) as fleet:
    ...     print(table(run(fleet)))
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from ..users import PASSWORDS


@dataclass
class Fleet:
    """An issuer lab and the API instances started next to it."""

    issuer: object  # a Lab
    instances: list = field(default_factory=list)
    min_interval: float = 30.0
    max_age: float = 300.0

    def stop(self) -> None:
        """Stop the instances (the issuer is the caller's)."""
        for instance in self.instances:
            instance.stop()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def jwks_fetches(self) -> int:
        """JWKS fetches made by all instances so far."""
        return sum(i.app.extensions["lab.edge"].fetches for i in self.instances)


def start_fleet(
    issuer, instances: int = 3, min_interval: float = 30.0, max_age: float = 300.0
) -> Fleet:
    """Start ``instances`` API instances (``api-1``, ...) on their own ports, sharing
    ``issuer``'s store and clock, trusting ``issuer``'s JWKS (refetched on an unknown kid at most
    every ``min_interval`` s, and when older than ``max_age`` s, of lab time)."""
    from ..lab import start_lab

    if instances < 1:
        raise ValueError("a fleet needs at least one instance")
    fleet = Fleet(issuer, min_interval=min_interval, max_age=max_age)
    for number in range(1, instances + 1):
        config = {
            "SERVICE_NAME": f"api-{number}",
            "EDGE_JWKS_URL": f"{issuer.url}/.well-known/jwks.json",
            "EDGE_JWKS_MIN_INTERVAL": min_interval,
            "EDGE_JWKS_MAX_AGE": max_age,
        }
        fleet.instances.append(
            start_lab(config, store=issuer.store, clock=issuer.clock, replace=False)
        )
    return fleet


@dataclass(frozen=True)
class Phase:
    """What one phase of the experiment saw."""

    mode: str  # "session" or "jwt"
    phase: str
    requests: int
    statuses: dict[int, int]
    store_reads_per_request: float
    jwks_fetches: int

    @property
    def ok(self) -> int:
        """Requests answered 200."""
        return self.statuses.get(200, 0)


def _spread(fleet: Fleet, mode: str, phase: str, requests: int, send) -> Phase:
    """Send ``requests`` requests round-robin over the instances with ``send(instance)``."""
    for instance in fleet.instances:
        instance.request_log.clear()
    fetches = fleet.jwks_fetches()
    statuses: Counter[int] = Counter()
    for n in range(requests):
        statuses[send(fleet.instances[n % len(fleet.instances)])] += 1
    new = [entry for instance in fleet.instances for entry in instance.request_log.entries]
    reads = sum(e.store_round_trips for e in new) / len(new) if new else 0.0
    return Phase(
        mode, phase, requests, dict(sorted(statuses.items())), reads, fleet.jwks_fetches() - fetches
    )


def _forged(kid: str, claims: dict) -> str:
    return jwt.encode(
        claims,
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"kid": kid, "typ": "at+jwt"},
    )


def run(fleet: Fleet, requests: int = 30, user: str = "alice") -> list[Phase]:
    """Run every phase in both modes (see the module docstring); one :class:`Phase` each.

    Lab time moves during the run (the lab clock is advanced past token lifetimes and the
    instances' JWKS windows), so give the fleet a lab of its own or mind the clock after.
    """
    issuer = fleet.issuer
    http = issuer.client()

    def new_token() -> dict:
        answer = issuer.client().post(
            "/oauth/token", json={"username": user, "password": PASSWORDS[user]}
        )
        answer.raise_for_status()
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    browser = issuer.client()
    browser.post(
        "/session/login", json={"username": user, "password": PASSWORDS[user]}
    ).raise_for_status()
    cookie = {"Cookie": "; ".join(f"{name}={value}" for name, value in browser.cookies.items())}
    bearer = new_token()

    def session_me(instance):
        return http.get(f"{instance.url}/session/me", headers=cookie).status_code

    def edge_me(headers):
        return lambda instance: http.get(f"{instance.url}/edge/me", headers=headers).status_code

    phases = [
        _spread(fleet, "session", "store up", requests, session_me),
        _spread(fleet, "jwt", "store up", requests, edge_me(bearer)),
    ]
    lifetime = issuer.app.config["TOKEN_LIFETIME"] + issuer.app.config["TOKEN_LEEWAY"]
    with issuer.store_outage():
        phases.append(_spread(fleet, "session", "store down", requests, session_me))
        phases.append(_spread(fleet, "jwt", "store down", requests, edge_me(bearer)))
        new_login = http.post(
            "/oauth/token", json={"username": user, "password": PASSWORDS[user]}
        ).status_code
        phases.append(
            Phase("jwt", "store down: a new login at the issuer", 1, {new_login: 1}, 0.0, 0)
        )
        issuer.clock.advance(lifetime + 1)
        phases.append(
            _spread(
                fleet,
                "jwt",
                f"store down, {(lifetime + 1) / 60:.1f} min later",
                requests,
                edge_me(bearer),
            )
        )

    # Made-up kids, in a new rate-limit window: the first unknown kid on each instance fetches
    # the JWKS; the rest of the window's unknown kids are refused without a fetch.
    issuer.clock.advance(fleet.min_interval)
    claims = jwt.decode(bearer["Authorization"][7:], options={"verify_signature": False})
    spray = iter(
        [{"Authorization": f"Bearer {_forged(f'made-up-{n}', claims)}"} for n in range(requests)]
    )
    phases.append(
        _spread(
            fleet,
            "jwt",
            "made-up kids sprayed, in one window",
            requests,
            lambda i: edge_me(next(spray))(i),
        )
    )

    issuer.keys.rotate("ES256")  # a new key, signing at once: the instances have not seen it
    fresh = new_token()
    phases.append(
        _spread(fleet, "jwt", "key rotated at once, within the window", requests, edge_me(fresh))
    )
    issuer.clock.advance(fleet.min_interval)
    phases.append(
        _spread(fleet, "jwt", "key rotated at once, after the window", requests, edge_me(fresh))
    )

    ahead = issuer.keys.publish("ES256")  # published now, signing later: the right way
    issuer.clock.advance(fleet.max_age)
    phases.append(
        _spread(
            fleet,
            "jwt",
            "next key published, copies refreshed by age",
            requests,
            edge_me(new_token()),
        )
    )
    issuer.keys.rotate("ES256", ahead.kid)
    phases.append(
        _spread(fleet, "jwt", "next key used after being published", requests, edge_me(new_token()))
    )
    return phases


def table(phases: list[Phase]) -> str:
    """The phases as an aligned text table."""
    width = max(len(p.phase) for p in phases)
    head = (
        f"{'mode':<8} {'phase':<{width}}  {'answers':<18} {'store trips/req':>15} "
        f"{'JWKS fetches':>12}"
    )
    rows = []
    for p in phases:
        answers = ", ".join(f"{n}×{status}" for status, n in p.statuses.items())
        rows.append(
            f"{p.mode:<8} {p.phase:<{width}}  {answers:<18} {p.store_reads_per_request:>15.1f} "
            f"{p.jwks_fetches:>12}"
        )
    return "\n".join([head, "-" * len(head)] + rows)
