"""Garbage tokens that made the modulus recovery raise something other than
RecoveryError, or start a computation it could never finish."""

from __future__ import annotations

import base64
import json

import pytest

from labserver.experiments import modulus_recovery as mr


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(header: bytes, signature: bytes = b"\x01" * 256, payload: bytes = b"{}") -> str:
    return f"{_b64(header)}.{_b64(payload)}.{_b64(signature)}"


OTHER = _token(b'{"alg":"RS256"}', payload=b'{"sub":"x"}')


@pytest.mark.parametrize(
    "header, why",
    [
        (b"[" * 100_000 + b"]" * 100_000, "not base64url JSON"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "not base64url JSON"),
        (json.dumps({"alg": ["RS256"]}).encode(), "not RS256"),
        (json.dumps({"alg": {"RS256": 1}}).encode(), "not RS256"),
    ],
    ids=["deep-array", "deep-object", "alg-list", "alg-object"],
)
def test_an_odd_header_is_a_recovery_error(header, why):
    with pytest.raises(mr.RecoveryError, match=why):
        mr.parse_pair(_token(header), OTHER)


def test_a_signature_longer_than_any_key_in_reach_is_refused_before_any_arithmetic():
    """A 64 KiB signature would make s^e some 4 GB: refused up front (recover_modulus and
    BackgroundRecovery.start both parse the pair first)."""
    huge = b"\x01" * 65536
    one = _token(b'{"alg":"RS256"}', huge)
    two = _token(b'{"alg":"RS256"}', huge, payload=b'{"sub":"x"}')
    with pytest.raises(mr.RecoveryError, match="65536 bytes"):
        mr.parse_pair(one, two)
