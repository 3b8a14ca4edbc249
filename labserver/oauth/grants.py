"""Authlib's grants, configured the strict way, with the lab's store and clock behind them.

What is Authlib's and what is ours:

* the request checks, the error codes of RFC 6749 section 5.2 and the response shapes are
  Authlib's (``AuthorizationCodeGrant``, ``ClientCredentialsGrant``, ``RefreshTokenGrant``,
  ``CodeChallenge``, ``OpenIDCode``, ``JWTBearerClientAssertion``);
* where its defaults are lax, they are tightened here, each with the rule it enforces:

  - PKCE with ``S256`` only, and a ``code_challenge`` required at the authorization endpoint
    (Authlib accepts ``plain``, and accepts a missing challenge until the token endpoint);
  - a code is single-use, and its replay revokes the grant it started (RFC 6749 section 4.1.2);
  - refresh tokens are chapter 3's: rotated on every use, their family revoked on reuse
    (RFC 9700 section 4.14.2; Authlib rotates but does not detect reuse);
  - every time decision (code and assertion expiry, ID token ``iat``/``exp``) reads the lab
    clock, not ``time.time()``.
"""

from __future__ import annotations

import re
import secrets

from authlib.oauth2.rfc6749 import grants, scope_to_list
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
)
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import g
from joserfc import jwk

from .. import refresh_tokens
from ..access_tokens import numeric_date_problem
from ..users import get_user
from . import records
from .errors import safe
from .tokens import (
    ID_TOKEN_ALG,
    ID_TOKEN_LIFETIME,
    REFRESH_TOKEN_LIFETIME,
    AudienceProblem,
    audience_for,
)

#: RFC 7636 section 4.1 (the verifier) and 4.2 (an S256 challenge: 32 bytes in base64url).
CODE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
S256_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


class StrictCodeChallenge(CodeChallenge):
    """PKCE (RFC 7636) with ``S256`` only, required of every client at the authorization
    endpoint (RFC 9700 section 2.1.1), so a downgrade is refused before a code exists."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError(
                "Missing 'code_challenge': this server requires PKCE (RFC 7636) of every client"
            )
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError(
                "'code_challenge_method' must be 'S256': 'plain' (or none, which means plain) "
                "would let whoever sees the authorization request redeem the code"
            )
        if not S256_CHALLENGE.fullmatch(data["code_challenge"]):
            raise InvalidRequestError(
                "'code_challenge' must be 43 base64url characters, the SHA-256 of the verifier"
            )
        return super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result):
        verifier = grant.request.form.get("code_verifier")
        if not verifier:
            raise InvalidRequestError(
                "Missing 'code_verifier': the code was issued for a PKCE challenge"
            )
        # Authlib's pattern (re.match with $) lets a trailing newline through.
        if not CODE_VERIFIER.fullmatch(verifier):
            raise InvalidRequestError(
                "'code_verifier' must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 "
                "section 4.1)"
            )
        return super().validate_code_verifier(grant, result)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """Authorization code (RFC 6749 section 4.1) for the native app (public, PKCE) and the
    BFF (confidential, client_secret_basic)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "none"]

    def validate_authorization_request(self):
        mode = self.request.payload.data.get("response_mode")
        if mode not in (None, "query"):
            raise InvalidRequestError(
                "response_mode must be 'query', the only one this provider offers "
                "(response_modes_supported in its metadata)"
            )
        return super().validate_authorization_request()

    def validate_requested_scope(self):
        check_requested_scope(self.server, self.request.client, self.request.payload.scope)

    def save_authorization_code(self, code, request):
        server = self.server
        data = request.payload.data
        records.save_code(
            server.store,
            code,
            {
                "client_id": request.client.client_id,
                "redirect_uri": request.payload.redirect_uri or "",
                "scope": request.payload.scope or "",
                "user": request.user.username,
                "nonce": data.get("nonce"),
                "auth_time": int(server.clock.now()),
                "code_challenge": data.get("code_challenge"),
                "code_challenge_method": data.get("code_challenge_method"),
            },
            server.clock.now(),
        )

    def query_authorization_code(self, code, client):
        server = self.server
        record = records.read_code(server.store, code)
        if record is None or record["client_id"] != client.client_id:
            return None
        if record["used"] != "0":
            # RFC 6749 section 4.1.2: a code used twice is a stolen copy, or a replay; the
            # tokens issued for it are revoked, since the server cannot tell whose they are.
            if record.get("grant"):
                records.revoke_grant(server.store, record["grant"], "authorization code replayed")
            raise InvalidGrantError(
                "the authorization code was already used: codes are single-use, so the tokens "
                "issued for it are now revoked (RFC 6749 section 4.1.2)"
            )
        if server.clock.now() >= float(record["expires"]):
            raise InvalidGrantError("the authorization code has expired (they live 60 s)")
        return record

    def delete_authorization_code(self, authorization_code):
        pass  # marked used in authenticate_user, before any token exists (see below)

    def authenticate_user(self, authorization_code):
        # Mark the code used first, atomically: of two parallel exchanges, one wins.
        if not records.mark_code_used(self.server.store, authorization_code["code"]):
            raise InvalidGrantError("the authorization code was already used")
        return get_user(self.server.store, authorization_code["user"])


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """Client credentials (RFC 6749 section 4.4): a service calling an API as itself."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "private_key_jwt"]

    def validate_requested_scope(self):
        check_requested_scope(self.server, self.request.client, self.request.payload.scope)

    def validate_token_request(self):
        super().validate_token_request()
        check_one_audience(self.request.payload.scope, self.server.issuer)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """Refresh (RFC 6749 section 6) with chapter 3's rotation and reuse detection."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        server = self.server
        record = server.store.hgetall(refresh_tokens.token_key(refresh_token))
        if not record:
            return None
        grant = records.read_grant(server.store, record["family"])
        return RefreshToken(
            grant, token=refresh_token, family=record["family"], expires=record["expires"]
        )

    def validate_token_request(self):
        super().validate_token_request()
        old = self.request.refresh_token
        jkt = getattr(g, "dpop_jkt", None) or ""
        if old.get("jkt") and old["jkt"] != jkt:
            raise InvalidGrantError(
                "this refresh token is bound to a DPoP key: send a DPoP proof made with that "
                "key (RFC 9449 section 5)"
            )
        # Consume it now, atomically, with chapter 3's rules: a token used before revokes its
        # family. Only then is a new pair issued.
        try:
            refresh_tokens.consume_refresh_token(
                self.server.store, self.server.clock, old["token"], self.server.issuer
            )
        except refresh_tokens.RefreshRejected as exc:
            raise InvalidGrantError(str(exc)) from None
        check_one_audience(self.request.payload.scope or old.get_scope(), self.server.issuer)

    def authenticate_user(self, refresh_token):
        return get_user(self.server.store, refresh_token["user"])

    def revoke_old_credential(self, refresh_token):
        pass  # consumed in validate_token_request


class RefreshToken(dict):
    """A refresh token's grant record, in the shape Authlib's refresh grant asks about."""

    def check_client(self, client) -> bool:
        return self.get("client_id") == client.client_id

    def get_scope(self) -> str:
        return self.get("scope", "")


def check_requested_scope(server, client, scope: str | None) -> None:
    """``invalid_scope`` (RFC 6749 sections 4.1.2.1 and 5.2) unless every scope asked for is
    one the provider knows and this client may have, and they belong to one API. Authlib
    would silently drop a scope the client may not have, and issue a token for fewer."""
    server.validate_requested_scope(scope)  # known to the provider at all
    asked = scope_to_list(scope) if scope else []
    refused = [s for s in asked if s not in client.scopes]
    if refused:
        raise InvalidScopeError(
            safe(
                f"{client.client_id} may not ask for {' '.join(refused)[:120]}; it may have: "
                + " ".join(client.scopes)
            )
        )
    check_one_audience(scope, server.issuer)


def check_one_audience(scope: str | None, issuer: str) -> None:
    """``invalid_scope`` unless the scopes belong to one API (see :func:`audience_for`)."""
    try:
        audience_for(scope, issuer)
    except AudienceProblem as exc:
        raise InvalidScopeError(str(exc)) from None


class LabOpenIDCode(OpenIDCode):
    """OpenID Connect for the code flow: an ID token next to the access token, for the client.

    ``aud`` is the client, ``azp`` names it too, ``nonce`` is the client's, ``at_hash`` binds
    the access token; times are the lab clock's. Signed RS256 with the provider's key.
    """

    def __init__(self, server) -> None:
        super().__init__(require_nonce=True)
        self.server = server

    def exists_nonce(self, nonce, request):
        return False  # a nonce is the client's to check in the ID token; it is single-use there

    def resolve_client_private_key(self, client):
        key = self.server.keys.current(ID_TOKEN_ALG)
        return jwk.RSAKey.import_key(key.signing_key, {"kid": key.kid})

    def get_client_algorithm(self, client):
        return ID_TOKEN_ALG

    def get_encode_header(self, client):
        key = self.server.keys.current(ID_TOKEN_ALG)
        return {"alg": ID_TOKEN_ALG, "kid": key.kid, "typ": "JWT"}

    def get_client_claims(self, client):
        now = int(self.server.clock.now())
        return {
            "iss": self.server.issuer,
            "aud": [client.client_id],
            "azp": client.client_id,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME,
        }

    def generate_user_info(self, user, scope):
        info = UserInfo(sub=user.username)
        if "profile" in scope.split():
            info["name"] = user.display_name
        return info


class PrivateKeyJWT(JWTBearerClientAssertion):
    """Client authentication with a JWT the client signs with its own key (RFC 7523 section
    2.2, OIDC's ``private_key_jwt``): no shared secret at all. The assertion's ``jti`` is
    remembered until it expires, so a copied assertion cannot be replayed."""

    CLIENT_AUTH_METHOD = "private_key_jwt"
    MAX_LIFETIME = 300  # seconds an assertion may claim to live

    def __init__(self, server) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.server = server

    def get_audiences(self):
        return [self.server.issuer, self.server.issuer + "/oauth2/token"]

    def resolve_client_public_key(self, client):
        if not client.jwks:
            raise InvalidClientError(description="the client has no registered public key")
        return jwk.KeySet.import_key_set(client.jwks)

    def verify_claims(self, claims):
        now = self.server.clock.now()
        for name in ("iss", "sub", "aud", "exp", "jti"):
            if name not in claims:
                raise InvalidClientError(description=f"the assertion lacks the claim {name!r}")
        if claims["iss"] != claims["sub"]:
            raise InvalidClientError(
                description="the assertion's iss and sub must both be the client_id"
            )
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if not set(self.get_audiences()) & {a for a in audiences if isinstance(a, str)}:
            raise InvalidClientError(
                description=f"the assertion's aud must be {self.server.issuer!r} "
                "or its token endpoint"
            )
        problem = numeric_date_problem("exp", claims["exp"])
        if problem:
            raise InvalidClientError(description=safe(f"the assertion's {problem}"))
        if claims["exp"] <= now - self.leeway:
            raise InvalidClientError(description="the assertion has expired")
        if claims["exp"] > now + self.MAX_LIFETIME + self.leeway:
            raise InvalidClientError(
                description=f"the assertion may live at most {self.MAX_LIFETIME} s"
            )
        if "nbf" in claims:  # RFC 7523 section 3 item 6: not to be accepted before nbf
            problem = numeric_date_problem("nbf", claims["nbf"])
            if problem:
                raise InvalidClientError(description=safe(f"the assertion's {problem}"))
            if claims["nbf"] > now + self.leeway:
                raise InvalidClientError(description="the assertion is not valid yet (nbf)")
        if not isinstance(claims["jti"], str) or not 0 < len(claims["jti"]) <= 256:
            raise InvalidClientError(description="the assertion's jti must be a short string")
        if not self.validate_jti(claims, claims["jti"]):
            raise InvalidClientError(
                description="this assertion (its jti) was used before: make a new one per request"
            )

    def validate_jti(self, claims, jti):
        ttl = max(1, int(float(claims["exp"]) - self.server.clock.now()) + self.leeway)
        return bool(
            self.server.store.set(
                f"lab:idp:assertion-jti:{claims['sub']}:{jti}", 1, nx=True, ex=ttl
            )
        )


def new_family_for(server, client, user, scope: str, jkt: str | None) -> tuple[str, str]:
    """A refresh token in a new family for this login, and the family's id, with the grant
    recorded next to it."""
    token, family = refresh_tokens.issue_refresh_token_and_family(
        server.store,
        server.clock,
        user.username,
        lifetime=REFRESH_TOKEN_LIFETIME,
        issuer=server.issuer,  # the lab's own token endpoint must not redeem it (chapter 3)
    )
    records.save_grant(
        server.store,
        family,
        {
            "client_id": client.client_id,
            "user": user.username,
            "scope": scope,
            "jkt": jkt or "",
            "created": server.clock.now(),
        },
        REFRESH_TOKEN_LIFETIME,
    )
    return token, family


def placeholder_refresh_token(**_) -> str:
    """Authlib asks for a refresh token string before ``save_token``; the real one is issued
    there (:func:`labserver.oauth.provider.save_token`), by chapter 3's rules."""
    return "pending-" + secrets.token_urlsafe(8)
