"""Exercise 14 · Algorithm confusion: sign HS256 with the server's RSA *public* key.

A verifier that trusts the token's ``alg`` and has one key per server, the RSA public key, may
end up computing HMAC-SHA256 keyed with that public key's PEM text. The attacker has that PEM
too (it is public: the JWKS publishes it), so the attacker can compute the same HMAC. PyJWT
refuses to use a PEM as an HMAC secret, which is why you build this token by hand:

1. turn the published JWK into a key object (``jwt.PyJWK``) and that into PEM bytes
   (``cryptography``'s ``public_bytes`` with ``Encoding.PEM`` and
   ``PublicFormat.SubjectPublicKeyInfo``: the bytes this lab's server holds. A real server might
   hold another encoding, e.g. PKCS#1 ``BEGIN RSA PUBLIC KEY`` or other line endings, so real
   attackers try several variants);
2. build ``base64url(header) + "." + base64url(payload)`` from compact JSON
   (``json.dumps(obj, separators=(",", ":"))``, ``jwt.utils.base64url_encode``);
3. append ``"." + base64url(HMAC-SHA256(pem, signing_input))`` (``hmac``, ``hashlib``).

Check your work in the notebook with ``check("ex14")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex14_algorithm_confusion.py --impl exercises``.
"""


def pem_from_jwk(jwk):
    """Return the PEM bytes (SubjectPublicKeyInfo) of the RSA public key in ``jwk`` (a dict)."""
    raise NotImplementedError(
        "the server's HMAC secret is its public key written out as PEM text, byte for byte: turn "
        "the JWK into a public key object, then serialize it the way the server stores it "
        "(SubjectPublicKeyInfo)"
    )


def forge_hs256(claims, pem, kid):
    """Return a compact JWS with header ``{"alg": "HS256", "typ": "at+jwt", "kid": kid}`` and
    payload ``claims``, whose signature is HMAC-SHA256 keyed with ``pem`` (bytes)."""
    raise NotImplementedError(
        "a JWS is base64url(header) '.' base64url(payload) '.' base64url(signature), with no "
        "padding; for HS256 the signature is the HMAC-SHA256 of the first two parts, here keyed "
        "with the PEM bytes"
    )
