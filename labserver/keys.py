"""The lab's signing keys: one per algorithm, each with a ``kid``, published as a JWKS.

The signing layer of the lab, after PyJWT's own layering: keys are made with ``cryptography``
when the lab starts (RSA lazily, on first use: generating a 2048-bit key takes 15-200 ms, more
than the rest of a lab start), kept as key objects (never re-parsed from PEM per call), and each
key is bound to exactly one algorithm: the algorithm allowlist is per key.

Rotation: :meth:`KeyRing.rotate` makes a new current key for an algorithm; the old one stays
published (so tokens it signed still verify) until :meth:`KeyRing.retire` removes it.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

#: The algorithms the lab signs with, in the order notebooks show them.
ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")

#: HMAC secrets are 32 random bytes: as long as SHA-256's output (RFC 7518 section 3.2).
HMAC_SECRET_BYTES = 32

_JWK_EXPORT = {"RS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}


def _generate(alg: str) -> Any:
    if alg == "HS256":
        return secrets.token_bytes(HMAC_SECRET_BYTES)
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"the lab has no {alg!r} keys; it signs with {', '.join(ALGORITHMS)}")


@dataclass
class SigningKey:
    """One key, bound to one algorithm. ``signing_key`` signs; ``verifying_key`` verifies.

    For HS256 both are the same secret (whoever can verify can also sign); for the other
    algorithms the verifying key is the public half only.
    """

    kid: str
    alg: str
    _material: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def signing_key(self) -> Any:
        """The secret (HS256) or private key; made on first use."""
        with self._lock:
            if self._material is None:
                self._material = _generate(self.alg)
            return self._material

    def generate(self) -> None:
        """Make the key material now rather than on first use (RSA takes up to 0.2 s)."""
        self.signing_key  # noqa: B018 - the property makes it

    @property
    def verifying_key(self) -> Any:
        """The secret (HS256) or the public key."""
        key = self.signing_key
        return key if self.alg == "HS256" else key.public_key()

    @property
    def symmetric(self) -> bool:
        """True for HS256: the verifier holds the very secret that signs."""
        return self.alg == "HS256"

    def public_jwk(self) -> dict | None:
        """This key as a public JWK (RFC 7517) with kid, alg and use; None for HS256 secrets."""
        if self.symmetric:
            return None
        jwk = _JWK_EXPORT[self.alg].to_jwk(self.verifying_key, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


class KeyRing:
    """The lab's keys: the current signing key per algorithm, and every published key by kid."""

    def __init__(self, algorithms: tuple[str, ...] = ALGORITHMS) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, SigningKey] = {}
        self._current: dict[str, str] = {}
        self._serial: dict[str, int] = {}
        for alg in algorithms:
            key = self._new_key(alg)
            if alg != "RS256":
                key.generate()  # made now; RSA waits for its first use
        self._make_current_all()

    def _new_key(self, alg: str, *, generate: bool = False) -> SigningKey:
        """A new published key (its key material made first when ``generate``, outside the
        lock, so that no published kid ever lacks its key)."""
        key = self._unpublished_key(alg, generate=generate)
        with self._lock:
            self._keys[key.kid] = key
        return key

    def _unpublished_key(self, alg: str, *, generate: bool) -> SigningKey:
        with self._lock:
            self._serial[alg] = self._serial.get(alg, 0) + 1
            kid = f"{alg.lower()}-{self._serial[alg]}"
        key = SigningKey(kid=kid, alg=alg)
        if generate:
            key.generate()  # RSA takes up to 0.2 s: done before anyone can see the kid
        return key

    def _make_current_all(self) -> None:
        for key in self._keys.values():
            self._current.setdefault(key.alg, key.kid)

    def current(self, alg: str) -> SigningKey:
        """The key that signs new tokens with ``alg``."""
        try:
            return self._keys[self._current[alg]]
        except KeyError:
            raise ValueError(
                f"no current {alg!r} key; the lab signs with {', '.join(self._current)}"
            ) from None

    def get(self, kid: str) -> SigningKey | None:
        """The published key with this ``kid``, or None (unknown, or retired)."""
        return self._keys.get(kid)

    @property
    def kids(self) -> list[str]:
        """Every published kid."""
        return list(self._keys)

    def publish(self, alg: str) -> SigningKey:
        """Publish a new ``alg`` key without signing with it yet: the JWKS has it, so verifiers
        can fetch it before the first token it signs arrives. :meth:`rotate` with its kid
        makes it the current key later."""
        self._known(alg)
        return self._new_key(alg, generate=True)

    def rotate(self, alg: str, kid: str | None = None) -> SigningKey:
        """Make a new current key for ``alg`` (or the published key ``kid``, e.g. one from
        :meth:`publish`); the previous one stays published. Publishing and making current are
        one step under the lock, so a concurrent :meth:`retire` never sees the new key half done."""
        self._known(alg)
        fresh = self._unpublished_key(alg, generate=True) if kid is None else None
        with self._lock:
            if fresh is not None:
                self._keys[fresh.kid] = key = fresh
            else:
                key = self._keys.get(kid)
                if key is None or key.alg != alg:
                    raise ValueError(f"{kid!r} is not a published {alg} key")
            self._current[alg] = key.kid
        return key

    def _known(self, alg: str) -> None:
        if alg not in self._current:
            raise ValueError(
                f"the lab has no {alg!r} keys; it signs with {', '.join(self._current)}"
            )

    def retire(self, kid: str) -> bool:
        """Stop publishing ``kid`` (tokens it signed stop verifying). The current key of an
        algorithm cannot be retired: rotate first. Returns False if there was no such key."""
        with self._lock:
            if kid not in self._keys:
                return False
            if kid in self._current.values():
                raise ValueError(
                    f"{kid} is the current key for {self._keys[kid].alg}; rotate first"
                )
            del self._keys[kid]
            return True

    def jwks(self) -> dict:
        """The public keys as a JWK Set (RFC 7517 section 5); HMAC secrets are never published."""
        return {"keys": [jwk for key in list(self._keys.values()) if (jwk := key.public_jwk())]}
