"""An x5c chain whose CA certificate repeats an extension is a ChainProblem
(a 401 from the x5c endpoint), not a 500."""

from __future__ import annotations

import base64
import datetime

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from labserver import x5c
from tests.fuzzing import lab_claims

#: DER of an OID, as it sits in an extension: 2.5.29.99 (unassigned) and 2.5.29.19 (basic
#: constraints). Both encode to 5 bytes, so one can be swapped for the other.
_UNASSIGNED, _BASIC_CONSTRAINTS = bytes.fromhex("0603551d63"), bytes.fromhex("0603551d13")


def _chain_with_a_repeated_extension(
    now: float, root_extension: x509.ExtensionType | None = None
) -> tuple[ec.EllipticCurvePrivateKey, list[str]]:
    """A leaf and a CA whose basicConstraints extension appears twice (the second one made by
    renaming an unassigned extension in the DER): RFC 5280 section 4.2 forbids that. Or, with
    ``root_extension``, a CA that has that extension instead."""
    when = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Root")])
    key = ec.generate_private_key(ec.SECP256R1())

    def certificate(ca: bool, extra=()) -> bytes:
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(when - day)
            .not_valid_after(when + day)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        for extension in extra:
            builder = builder.add_extension(extension, critical=False)
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    value = x509.BasicConstraints(ca=True, path_length=None).public_bytes()
    extra = x509.UnrecognizedExtension(x509.ObjectIdentifier("2.5.29.99"), value)
    if root_extension is None:
        root = certificate(True, [extra]).replace(_UNASSIGNED, _BASIC_CONSTRAINTS)
    else:
        root = certificate(True, [root_extension])
    chain = [certificate(False), root]
    return key, [base64.b64encode(der).decode() for der in chain]


def test_a_ca_with_a_repeated_extension_is_a_chain_problem():
    _key, chain = _chain_with_a_repeated_extension(1_800_000_000)
    with pytest.raises(x5c.ChainProblem, match="certificate 1 is not a CA"):
        x5c.unanchored_leaf(chain, 1_800_000_000)


#: subjectAltName = [x400Address {}]: a GeneralName cryptography does not support.
X400_SAN = x509.UnrecognizedExtension(x509.ObjectIdentifier("2.5.29.17"), bytes.fromhex("3002a300"))


def test_a_ca_with_a_general_name_cryptography_cannot_read_is_a_chain_problem():
    key, chain = _chain_with_a_repeated_extension(1_800_000_000, root_extension=X400_SAN)
    with pytest.raises(x5c.ChainProblem, match="certificate 1 is not a CA"):
        x5c.unanchored_leaf(chain, 1_800_000_000)


def test_the_x5c_endpoint_refuses_a_repeated_extension_with_a_401(vlab):
    key, chain = _chain_with_a_repeated_extension(vlab.clock.now())
    claims = lab_claims(vlab)
    token = jwt.encode(claims, key, "ES256", headers={"x5c": chain})
    answer = vlab.http.get("/vulnerable/x5c/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401, answer.text
    assert "not a CA" in answer.json()["error_description"]


def test_the_capstones_x5c_flaw_refuses_a_repeated_extension_with_a_401():
    from labserver import LabClock
    from labserver.capstone import start_capstone

    target = start_capstone(3, clock=LabClock.frozen(), flaws={"/api/admin/report": "x5c"})
    try:
        http = target.client()
        mine = http.post("/token", json={"username": "bob", "password": "builder"}).json()
        claims = jwt.decode(mine["access_token"], options={"verify_signature": False})
        key, chain = _chain_with_a_repeated_extension(target.clock.now())
        token = jwt.encode({**claims, "roles": ["admin"]}, key, "ES256", headers={"x5c": chain})
        answer = http.get("/api/admin/report", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, answer.text
        assert "not a CA" in answer.json()["error_description"]
    finally:
        target.stop()
    assert target.crashes == []
