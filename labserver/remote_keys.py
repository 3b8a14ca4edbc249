"""An API's copy of an issuer's public keys, fetched from the issuer's JWKS URL.

This is what lets an API verify tokens "at the edge" without any store: it holds public keys
only, and it learns of a new key (after the issuer rotates) the first time a token names an
unknown ``kid``. Because anyone can send a token with a made-up ``kid``, re-fetching is rate
limited: at most one fetch per ``min_interval`` seconds of lab time, however many unknown kids
arrive. The JWKS URL comes from configuration, never from a token (chapter 9's ``jku`` lesson).

:class:`RemoteKeySet` has the one method the verifier needs from a key set, ``get(kid)``, so
:func:`labserver.access_tokens.verify_access_token` takes it in place of the lab's own KeyRing.
"""

from __future__ import annotations

import json
import threading
import time
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
    """Public keys from ``jwks_url``: fetched on first use, again on an unknown ``kid`` (at most
    once per ``min_interval`` seconds on ``clock``), and again when the copy is older than
    ``max_age`` (so retired keys disappear and keys published ahead arrive)."""

    def __init__(
        self,
        jwks_url: str,
        *,
        clock,
        min_interval: float = 30.0,
        max_age: float = 300.0,
        verify: bool | str = True,
        user_agent: str | None = None,
    ) -> None:
        self.jwks_url = jwks_url
        self.user_agent = user_agent  #: how the fetches name this API in the issuer's log
        self.min_interval = float(min_interval)
        self.max_age = max(float(max_age), self.min_interval)
        self._clock = clock
        self._verify = verify
        self._fetch_lock = threading.Lock()
        self._keys: dict[str, PublicKey] = {}  # replaced whole by each fetch, so reads need no lock
        self._last_fetch: float | None = None
        self.fetches = 0  #: JWKS requests made
        self.skipped = 0  #: unknown kids that did not trigger a fetch (rate limit)
        self.last_error: str | None = None  #: why the last fetch failed, or None

    def get(self, kid: str) -> PublicKey | None:
        """The key named ``kid``, fetching the JWKS first when ``kid`` is unknown (and the rate
        limit allows) or the copy is older than ``max_age``; None when the issuer does not
        publish it (or cannot be reached)."""
        key = self._keys.get(kid)
        if key is not None and not self._stale(self._clock.now()):
            return key  # the common case: no lock, no waiting behind another thread's fetch
        with self._fetch_lock:
            now = self._clock.now()
            key = self._keys.get(kid)
            if key is not None and not self._stale(now):
                return key  # another thread refreshed while this one waited
            if (
                key is None
                and self._last_fetch is not None
                and now - self._last_fetch < self.min_interval
            ):
                self.skipped += 1
                return None
            self._fetch(now)
            return self._keys.get(kid)

    @property
    def kids(self) -> list[str]:
        """The kids known now (without fetching)."""
        return sorted(self._keys)

    @property
    def reachable(self) -> bool:
        """False when the last fetch failed and no key is known."""
        return bool(self._keys) or self.last_error is None

    def _stale(self, now: float) -> bool:
        return self._last_fetch is None or now - self._last_fetch >= self.max_age

    def _fetch(self, now: float) -> None:
        self._last_fetch = now
        self.fetches += 1
        try:
            published = _download_json(self.jwks_url, self._verify, self.user_agent)["keys"]
            if not isinstance(published, list):
                raise ValueError("'keys' is not a list")
            keys = {}
            for jwk in published:
                key = _public_key(jwk)
                if key is not None:
                    keys[key.kid] = key
            if not keys:
                raise ValueError("the key set has no usable signing key")
        except (requests.RequestException, ValueError, KeyError, TypeError, RecursionError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            return  # keep the keys we had: an outage of the issuer does not un-publish them
        self._keys, self.last_error = keys, None


MAX_JWKS_BYTES = 64 * 1024


def _download_json(url: str, verify: bool | str, user_agent: str | None = None):
    """GET ``url`` as JSON: at most MAX_JWKS_BYTES, within FETCH_TIMEOUT seconds in all."""
    deadline = time.monotonic() + FETCH_TIMEOUT
    with requests.Session() as http:
        http.trust_env = False  # the issuer is reached directly, never through a proxy
        if user_agent:
            http.headers["User-Agent"] = user_agent
        with http.get(url, timeout=FETCH_TIMEOUT, verify=verify, stream=True) as answer:
            answer.raise_for_status()
            body = bytearray()
            for chunk in answer.iter_content(8192):
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError(f"the key set is over {MAX_JWKS_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise requests.Timeout(f"the key set took over {FETCH_TIMEOUT:g} s to arrive")
    return json.loads(body)


def _public_key(jwk) -> PublicKey | None:
    """A usable signing key from one JWK, or None (no kid, not for signatures, an algorithm
    this API does not accept, or a key that does not fit its algorithm)."""
    if not isinstance(jwk, dict):
        return None
    kid, alg = jwk.get("kid"), jwk.get("alg")
    if (
        not isinstance(kid, str)
        or alg not in ALGORITHMS
        or alg == "HS256"
        or jwk.get("use", "sig") != "sig"
    ):
        return None
    try:
        return PublicKey(kid, alg, jwt.PyJWK(jwk).key)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None
