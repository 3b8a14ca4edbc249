"""Chapter 9: the ``x5c`` header (RFC 7515 section 4.1.6), checked halfway, and a chain to
forge it with.

``x5c`` carries the certificate of the signing key, followed by the certificates that certify
it, each base64 (not base64url) DER. RFC 7515 says the recipient MUST validate the chain
according to RFC 5280, whose path validation starts from a *trust anchor* the relying party
already holds. :func:`unanchored_leaf` checks everything else (each certificate valid on the
lab clock, each issued by the next, which is a CA, the last one self-signed) but never asks
whether that root is one the server trusts: a chain the attacker made up passes.

:func:`self_made_chain` is the attacker's side: a root CA and a leaf of their own, built with
``cryptography``'s x509 builder as :mod:`labserver.tls` builds the lab's HTTPS certificate.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from .timefmt import iso

#: At most this many certificates, each at most this many DER bytes.
MAX_CERTIFICATES, MAX_CERTIFICATE_BYTES = 5, 8 * 1024


class ChainProblem(ValueError):
    """The x5c header is not a usable certificate chain; the message says why."""


def certificates(x5c: Any) -> list[x509.Certificate]:
    """The certificates of an ``x5c`` header value, or :class:`ChainProblem`."""
    if not isinstance(x5c, list) or not x5c:
        raise ChainProblem(
            "x5c must be a non-empty JSON array of base64 DER certificates (RFC 7515 section "
            f"4.1.6), not {type(x5c).__name__}"
        )
    if len(x5c) > MAX_CERTIFICATES:
        raise ChainProblem(f"at most {MAX_CERTIFICATES} certificates, not {len(x5c)}")
    chain = []
    for i, item in enumerate(x5c):
        if not isinstance(item, str) or len(item) > MAX_CERTIFICATE_BYTES * 4 // 3 + 4:
            raise ChainProblem(
                f"certificate {i} must be a base64 string of at most {MAX_CERTIFICATE_BYTES} bytes"
            )
        try:
            der = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError):
            raise ChainProblem(
                f"certificate {i} is not base64 (x5c uses base64 with padding, not base64url)"
            ) from None
        try:
            chain.append(x509.load_der_x509_certificate(der))
        except ValueError as exc:
            raise ChainProblem(f"certificate {i} is not a DER X.509 certificate ({exc})") from None
    return chain


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
    # a malformed or repeated extension, or a general name cryptography cannot read (x400Address)
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        return False


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> str | None:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return None


def unanchored_leaf(x5c: Any, now: float) -> x509.Certificate:
    """THE MISTAKE: the first certificate of ``x5c`` once the chain hangs together (every
    certificate valid at ``now`` on the lab clock, each issued by the next, which is a CA, and
    the last one self-signed), without checking that the last one is a trust anchor this
    server holds. Raises :class:`ChainProblem`."""
    chain = certificates(x5c)
    try:
        when = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    except (OverflowError, ValueError, OSError):
        raise ChainProblem(f"lab time {now!r} is past any certificate's validity") from None
    for i, cert in enumerate(chain):
        if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
            raise ChainProblem(
                f"certificate {i} is valid from {cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ} "
                f"to {cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}, not at lab time {iso(now)}"
            )
    for i, (child, parent) in enumerate(zip(chain, chain[1:], strict=False)):
        if not _is_ca(parent):
            raise ChainProblem(f"certificate {i + 1} is not a CA, so it cannot issue {i}")
        problem = _issued_by(child, parent)
        if problem:
            raise ChainProblem(f"certificate {i} is not issued by certificate {i + 1} ({problem})")
    root = chain[-1]
    problem = _issued_by(root, root)
    if problem:
        raise ChainProblem(f"the last certificate is not self-signed ({problem})")
    return chain[0]


def named(cert: x509.Certificate) -> str:
    """The certificate's subject, quoted and short, or a note when it cannot be read."""
    try:
        return repr(cert.subject.rfc4514_string()[:80])
    except ValueError:  # names are decoded lazily: a malformed one fails only here
        return "(with an unreadable subject)"


def algorithm_for(cert: x509.Certificate) -> tuple[Any, str]:
    """The certificate's public key and the one JWS algorithm it verifies, or ChainProblem."""
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ChainProblem(f"the certificate's key cannot be used ({exc})") from None
    if isinstance(key, ec.EllipticCurvePublicKey):
        alg = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}.get(key.curve.name)
    elif isinstance(key, rsa.RSAPublicKey):
        alg = "RS256"
    elif isinstance(key, ed25519.Ed25519PublicKey):
        alg = "EdDSA"
    else:
        alg = None
    if alg is None:
        raise ChainProblem(f"no JWS algorithm for the certificate's {type(key).__name__}")
    return key, alg


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def self_made_chain(
    now: float, leaf_name: str = "api.jwt-lab.test"
) -> tuple[ec.EllipticCurvePrivateKey, list[str]]:
    """The attacker's own root CA and a leaf it issued, valid a day either side of ``now``:
    the leaf's private key, and the ``x5c`` value (leaf first, base64 DER)."""
    when = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )

    def certificate(subject: str, key, issuer: str, signer, ca: bool) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(_name(subject))
            .issuer_name(_name(issuer))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(when - day)
            .not_valid_after(when + day)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signer, hashes.SHA256())
        )

    root = certificate("Attacker Root CA", ca_key, "Attacker Root CA", ca_key, True)
    leaf = certificate(leaf_name, leaf_key, "Attacker Root CA", ca_key, False)
    x5c = [
        base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        for cert in (leaf, root)
    ]
    return leaf_key, x5c
