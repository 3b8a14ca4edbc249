"""Tokens the lab's token endpoint would never issue: edited, tampered, unsigned, foreign.

For experiments only: the claims editor, the notebooks and the tests use these to show which
rule refuses which token. Signing is PyJWT's; only the deliberately broken shapes (an unsigned
token, a payload swapped under an old signature) are assembled by hand, with PyJWT's base64url.
"""

from __future__ import annotations

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


def encode_unsigned(header: dict, payload: dict) -> str:
    """A compact JWS with an empty signature, assembled by hand (``alg: none``)."""
    part = lambda obj: base64url_encode(json.dumps(obj, separators=(",", ":")).encode()).decode()  # noqa: E731
    return f"{part(header)}.{part(payload)}."


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
    signing = key.signing_key if signer != "foreign" else SigningKey(kid="foreign", alg=alg).signing_key
    return jwt.encode(claims, signing, algorithm=alg, headers={"typ": TOKEN_TYPE, "kid": kid})


def tamper(token: str, **changes: Any) -> str:
    """The same token with ``changes`` made to its payload, and the old signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64url_decode(payload))
    claims.update(changes)
    new_payload = base64url_encode(json.dumps(claims, separators=(",", ":")).encode()).decode()
    return f"{header}.{new_payload}.{signature}"
