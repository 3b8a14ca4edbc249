"""Tokens the lab's token endpoint would never issue: edited, tampered, unsigned, foreign.

For experiments only: the claims editor, the notebooks and the tests use these to show which
rule refuses which token. Signing is PyJWT's; only the deliberately broken shapes (an unsigned
token, a payload swapped under an old signature) are assembled by hand, with PyJWT's base64url.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import jwt
from jwt.utils import base64url_decode, base64url_encode

from .access_tokens import TOKEN_TYPE
from .keys import KeyRing, SigningKey

#: Who signs a token in :func:`mint`.
SIGNERS = {
    "lab": "the lab's current key",
    "foreign": "a key the lab does not have (same algorithm, the lab's kid)",
    "unknown-kid": "the lab's key, but a kid the lab does not publish",
}


def _part(obj: Any) -> str:
    """One compact-serialization part: compact JSON, base64url without padding."""
    return base64url_encode(json.dumps(obj, separators=(",", ":")).encode()).decode()


def encode_unsigned(header: dict, payload: dict) -> str:
    """A compact JWS with an empty signature, assembled by hand (``alg: none``)."""
    return f"{_part(header)}.{_part(payload)}."


def hs256_with_key_bytes(header: dict, claims: dict, key: bytes) -> str:
    """A compact HS256 JWS over ``header`` and ``claims`` with ``key`` as the HMAC secret, built
    with ``hmac`` because PyJWT rightly refuses some keys (a PEM public key, an empty key)."""
    signing_input = f"{_part({**header, 'alg': 'HS256'})}.{_part(claims)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64url_encode(signature).decode()}"


def mint(keys: KeyRing, claims: dict, *, alg: str = "ES256", signer: str = "lab") -> str:
    """Sign ``claims`` as the lab would (``signer="lab"``) or as an attacker might.

    ``alg`` may also be ``"none"``: an unsigned token. ``signer`` is a key of :data:`SIGNERS`.
    """
    if signer not in SIGNERS:
        raise ValueError(f"signer must be one of {', '.join(SIGNERS)}")
    if alg == "none":
        kid = keys.current("ES256").kid
        return encode_unsigned({"alg": "none", "typ": TOKEN_TYPE, "kid": kid}, claims)
    key = keys.current(alg)
    kid = key.kid if signer != "unknown-kid" else f"{alg.lower()}-99"
    signing = (
        key.signing_key if signer != "foreign" else SigningKey(kid="foreign", alg=alg).signing_key
    )
    return jwt.encode(claims, signing, algorithm=alg, headers={"typ": TOKEN_TYPE, "kid": kid})


def tamper(token: str, **changes: Any) -> str:
    """The same token with ``changes`` made to its payload, and the old signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64url_decode(payload))
    claims.update(changes)
    return f"{header}.{_part(claims)}.{signature}"
