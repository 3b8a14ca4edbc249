"""Revocation (RFC 7009) and introspection (RFC 7662), on Authlib's endpoints.

An access token is a JWT that every API verifies alone, so revoking one only changes what
*introspection* says: an API that verifies by signature keeps accepting it until ``exp``.
That is the trade-off chapter 3 measured, now between separate systems. Revoking a refresh
token ends its whole grant (chapter 3's family).
"""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from .. import refresh_tokens
from . import records

CLIENT_AUTH_METHODS = ["client_secret_basic", "private_key_jwt", "none"]


class StoredToken(dict):
    """A token the provider recognises: ``kind`` is ``access_token`` or ``refresh_token``."""

    def check_client(self, client) -> bool:
        return self.get("client_id") == client.client_id

    def is_expired(self) -> bool:
        return self["now"] >= float(self["exp"])

    def is_revoked(self) -> bool:
        return bool(self["revoked"])


def find_token(server, token: str, hint: str | None) -> StoredToken | None:
    """What the provider knows of ``token``: one of its access tokens (verified by signature,
    any audience) or one of its refresh tokens; None otherwise."""
    now = server.clock.now()
    if hint != "access_token" and len(token) < 200:
        record = server.store.hgetall(refresh_tokens.token_key(token))
        grant = records.read_grant(server.store, record["family"]) if record else {}
        family = server.store.hgetall(refresh_tokens.family_key(record["family"])) if record else {}
        # Only this provider's own refresh tokens: the lab's (chapter 3) share the store.
        if grant and family.get("issuer") == server.issuer:
            return StoredToken(
                kind="refresh_token",
                family=record["family"],
                client_id=grant.get("client_id", ""),
                sub=record["user"],
                scope=grant.get("scope", ""),
                exp=record["expires"],
                now=now,
                revoked=record["used"] == "1" or family.get("revoked", "1") == "1",
            )
    claims = server.verify_own_token(token)
    if claims is None:
        return None
    stored = records.read_access_token(server.store, claims["jti"])
    return StoredToken(
        kind="access_token",
        claims=claims,
        client_id=claims["client_id"],
        exp=claims["exp"],
        now=now,
        grant=stored.get("grant", ""),
        revoked=records.access_token_revoked(server.store, claims["jti"], stored.get("grant")),
    )


class IgnoreUnknownHints:
    """RFC 7009 section 2.1 and RFC 7662 section 2.1: the server MAY ignore a
    ``token_type_hint`` it does not know, and search all its tokens; Authlib answers 401
    ``unsupported_token_type`` instead. Only a missing ``token`` is an error here."""

    def check_params(self, request, client):
        if "token" not in request.form:
            raise InvalidRequestError("Missing 'token' (RFC 7009 / RFC 7662 section 2.1)")

    def hint(self, request) -> str | None:
        """The request's hint if it is one this server knows, else None (search everything)."""
        hint = request.form.get("token_type_hint")
        return hint if hint in self.SUPPORTED_TOKEN_TYPES else None


class Revocation(IgnoreUnknownHints, RevocationEndpoint):
    """``POST /oauth2/revoke``: a client revokes one of its own tokens."""

    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def authenticate_token(self, request, client):
        self.check_params(request, client)
        token = self.query_token(request.form["token"], self.hint(request))
        if token and not token.check_client(client):
            raise InvalidGrantError("this token was issued to another client")
        return token

    def query_token(self, token_string, token_type_hint):
        return find_token(self.server, token_string, token_type_hint)

    def revoke_token(self, token, request):
        if token["kind"] == "refresh_token":
            records.revoke_grant(self.server.store, token["family"], "revoked by the client")
        else:
            records.revoke_access_token(
                self.server.store, token["claims"]["jti"], token["exp"], token["now"]
            )


class Introspection(IgnoreUnknownHints, IntrospectionEndpoint):
    """``POST /oauth2/introspect``: a confidential client asks whether a token is active.

    Not a public client: its ``client_id`` alone proves nothing, and RFC 7662 section 2.1 asks
    for authorization here, so that no one can probe which tokens exist (token scanning)."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "private_key_jwt"]

    def authenticate_token(self, request, client):
        self.check_params(request, client)
        token = self.query_token(request.form["token"], self.hint(request))
        if token and self.check_permission(token, client, request):
            return token
        return None

    def query_token(self, token_string, token_type_hint):
        return find_token(self.server, token_string, token_type_hint)

    def check_permission(self, token, client, request):
        return True  # every authenticated (confidential) client may ask

    def introspect_token(self, token):
        if token["kind"] == "refresh_token":
            return {
                "active": True,
                "token_type": "refresh_token",
                "client_id": token["client_id"],
                "sub": token["sub"],
                "scope": token["scope"],
                "exp": int(float(token["exp"])),
            }
        claims = token["claims"]
        answer = {"active": True, "token_type": "access_token"}
        for name in ("client_id", "sub", "scope", "aud", "iss", "exp", "iat", "jti", "act", "cnf"):
            if name in claims:
                answer[name] = claims[name]
        return answer
