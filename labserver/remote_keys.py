"""An API's copy of an issuer's public keys, fetched from the issuer's JWKS URL.

This is what lets an API verify tokens "at the edge" without any store: it holds public keys
only, and it learns of a new key (after the issuer rotates) the first time a token names an
unknown ``kid``. Because anyone can send a token with a made-up ``kid``, re-fetching is rate
limited: at most one fetch per ``min_interval`` seconds of lab time, however many unknown kids
arrive. The JWKS URL comes from configuration, never from a token (chapter 6's ``jku`` lesson).

:class:`RemoteKeySet` has the one method the verifier needs from a key set, ``get(kid)``, so
:func:`labserver.access_tokens.verify_access_token` takes it in place of the lab's own KeyRing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from .keys import ALGORITHMS

FETCH_TIMEOUT = 5.0


@dataclass(frozen=True)
class PublicKey:
    """One published key: its kid, the one algorithm it verifies, the public key object."""

    kid: str
    alg: str
    verifying_key: Any


class RemoteKeySet:
    """Public keys from ``jwks_url``, fetched on first use and again on an unknown ``kid``
    (rate limited to one fetch per ``min_interval`` seconds on ``clock``)."""

    def __init__(self, jwks_url: str, *, clock, min_interval: float = 30.0, verify: bool | str = True) -> None:
        self.jwks_url = jwks_url
        self.min_interval = float(min_interval)
        self._clock = clock
        self._verify = verify
        self._lock = threading.Lock()
        self._keys: dict[str, PublicKey] = {}
        self._last_fetch: float | None = None
        self.fetches = 0  #: JWKS requests made
        self.skipped = 0  #: unknown kids that did not trigger a fetch (rate limit)
        self.last_error: str | None = None  #: why the last fetch failed, or None

    def get(self, kid: str) -> PublicKey | None:
        """The key named ``kid``, fetching the JWKS again first if ``kid`` is unknown and the
        rate limit allows; None when the issuer does not publish it (or cannot be reached)."""
        with self._lock:
            if kid in self._keys:
                return self._keys[kid]
            now = self._clock.now()
            if self._last_fetch is not None and now - self._last_fetch < self.min_interval:
                self.skipped += 1
                return None
            self._fetch(now)
            return self._keys.get(kid)

    @property
    def kids(self) -> list[str]:
        """The kids known now (without fetching)."""
        with self._lock:
            return sorted(self._keys)

    @property
    def reachable(self) -> bool:
        """False when the last fetch failed and no key is known."""
        return bool(self._keys) or self.last_error is None

    def _fetch(self, now: float) -> None:
        self._last_fetch = now
        self.fetches += 1
        try:
            with requests.Session() as http:
                http.trust_env = False  # the issuer is reached directly, never through a proxy
                answer = http.get(self.jwks_url, timeout=FETCH_TIMEOUT, verify=self._verify)
            answer.raise_for_status()
            published = answer.json()["keys"]
            keys = {}
            for jwk in published:
                kid, alg = jwk.get("kid"), jwk.get("alg")
                if not isinstance(kid, str) or alg not in ALGORITHMS or alg == "HS256":
                    continue  # a key without kid or with an algorithm we do not accept is skipped
                keys[kid] = PublicKey(kid, alg, jwt.PyJWK(jwk).key)
        except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError,
                jwt.PyJWKError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            return  # keep the keys we had: an outage of the issuer does not un-publish them
        self._keys, self.last_error = keys, None
