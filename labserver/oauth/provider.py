"""The identity provider's Authlib ``AuthorizationServer``, put together, and its metadata.

:func:`build_server` registers the grants of :mod:`.grants` and :mod:`.token_exchange`, the
endpoints of :mod:`.endpoints`, private_key_jwt client authentication and RFC 9207's ``iss``
in authorization responses. The server object carries what the grants need from the lab:
``store``, ``clock``, ``keys`` (the provider's own :class:`~labserver.keys.KeyRing`) and
``issuer`` (its URL).
"""

from __future__ import annotations

import base64

import jwt
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import g

from .. import refresh_tokens
from ..access_tokens import TokenPolicy, TokenRejected, verify_access_token
from . import dpop, records
from .clients import ALL_SCOPES, TOKEN_EXCHANGE
from .endpoints import Introspection, Revocation
from .grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    LabOpenIDCode,
    PrivateKeyJWT,
    RefreshTokenGrant,
    StrictCodeChallenge,
    new_family_for,
    placeholder_refresh_token,
)
from .token_exchange import TokenExchangeGrant
from .tokens import ACCESS_TOKEN_ALG, ID_TOKEN_ALG, LabTokenGenerator

#: The provider's endpoints, relative to its issuer URL.
PATHS = {
    "authorization_endpoint": "/oauth2/authorize",
    "token_endpoint": "/oauth2/token",
    "revocation_endpoint": "/oauth2/revoke",
    "introspection_endpoint": "/oauth2/introspect",
    "jwks_uri": "/.well-known/jwks.json",
}

#: The algorithms a private_key_jwt client assertion may be signed with.
ASSERTION_ALGS = ["ES256", "RS256", "EdDSA"]


class LabAuthorizationServer(AuthorizationServer):
    """Authlib's Flask ``AuthorizationServer`` with the lab's store, clock, keys and clients."""

    def __init__(self, app, *, store, clock, keys, issuer: str, clients: dict, apis: dict):
        super().__init__()
        self.store, self.clock, self.keys, self.issuer = store, clock, keys, issuer
        self.clients = clients
        #: API name -> its base URL (for RFC 8707 ``resource`` values)
        self.apis = apis
        self.init_app(app, query_client=clients.get, save_token=self._save)
        # After init_app, which sets it from OAUTH2_SCOPES_SUPPORTED (None: any scope at all).
        self.scopes_supported = list(ALL_SCOPES)
        self.register_token_generator(
            "default",
            LabTokenGenerator(keys, issuer, clock, placeholder_refresh_token),
        )

    def authenticate_client(self, request, methods, endpoint="token"):
        """Authlib's client authentication, after refusing Basic credentials it cannot decode
        (it would raise on base64 of non-UTF-8 bytes, or on non-ASCII base64), and with only
        the one method the request presents (see :func:`presented_method`)."""
        header = request.headers.get("Authorization") or ""
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeError):
                raise InvalidClientError(
                    status_code=401,
                    description="the Basic credentials are not base64 of UTF-8 "
                    "'client_id:client_secret' (RFC 6749 section 2.3.1)",
                ) from None
        method = presented_method(request)
        if method is not None:
            if method not in methods:
                raise InvalidClientError(
                    status_code=401,
                    description=f"this endpoint does not take {method}; it takes "
                    + ", ".join(methods),
                )
            # Credentials that fail are refused, never ignored for another method (Authlib
            # would go on to "none" and take the form's client_id instead).
            methods = [method]
        return super().authenticate_client(request, methods, endpoint)

    def _save(self, token: dict, request) -> None:
        """Keep what introspection and revocation need; issue the real refresh token."""
        claims = g.get("issued_claims")
        grant = None
        if "refresh_token" in token:
            old = getattr(request, "refresh_token", None)
            if old is not None:  # rotation: the next token of the same family
                grant = old["family"]
                token["refresh_token"] = refresh_tokens.issue_refresh_token(
                    self.store, self.clock, old["user"], family=grant, expires=float(old["expires"])
                )
            else:  # a login: a new family, the grant
                token["refresh_token"], grant = new_family_for(
                    self, request.client, request.user, token.get("scope", ""), g.get("dpop_jkt")
                )
                code = getattr(request, "authorization_code", None)
                if code is not None:
                    records.link_code_to_grant(self.store, code["code"], grant)
        if claims is not None:
            records.record_access_token(self.store, claims, grant, self.clock.now())

    def verify_own_token(self, token: str) -> dict | None:
        """The claims of an access token this provider signed, for any audience; else None."""
        try:
            aud = jwt.decode(token, options={"verify_signature": False}).get("aud")
        except (jwt.InvalidTokenError, ValueError, TypeError):
            return None
        if isinstance(aud, list):
            aud = next((a for a in aud if isinstance(a, str)), None)
        if not isinstance(aud, str):
            return None
        try:
            policy = TokenPolicy(issuer=self.issuer, audience=aud)
            return verify_access_token(token, self.keys, policy, self.clock.now()).claims
        except TokenRejected:
            return None

    def audience_of_resource(self, resource: str) -> str | None:
        """The API whose URL is ``resource`` (RFC 8707), or None."""
        return next((name for name, url in self.apis.items() if resource.rstrip("/") == url), None)

    def metadata(self) -> dict:
        """RFC 8414 / OpenID Connect Discovery metadata."""
        return {
            "issuer": self.issuer,
            **{name: self.issuer + path for name, path in PATHS.items()},
            "scopes_supported": list(ALL_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                TOKEN_EXCHANGE,
            ],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "private_key_jwt",
                "none",
            ],
            "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "private_key_jwt",
                "none",
            ],
            "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "private_key_jwt",
            ],
            # RFC 8414 section 2: required wherever private_key_jwt is offered.
            "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ID_TOKEN_ALG],
            "access_token_signing_alg_values": [ACCESS_TOKEN_ALG],
            "dpop_signing_alg_values_supported": list(dpop.ALGORITHMS),
            "authorization_response_iss_parameter_supported": True,
            "claims_supported": ["sub", "name", "iss", "aud", "exp", "iat", "nonce", "azp"],
        }


def presented_method(request) -> str | None:
    """The one client authentication method the request presents credentials for, or None
    (a public client's bare ``client_id``). ``invalid_request`` for two (RFC 6749 section 2.3:
    a client MUST NOT use more than one method in a request)."""
    form = request.form
    scheme = (request.headers.get("Authorization") or "").partition(" ")[0].lower()
    presented = [
        method
        for method, present in (
            ("client_secret_basic", scheme == "basic"),
            (
                "private_key_jwt",
                bool(form.get("client_assertion") or form.get("client_assertion_type")),
            ),
            ("client_secret_post", bool(form.get("client_secret"))),
        )
        if present
    ]
    if len(presented) > 1:
        raise InvalidRequestError(
            f"the request authenticates the client in {len(presented)} ways "
            f"({', '.join(presented)}): use one (RFC 6749 section 2.3)"
        )
    return presented[0] if presented else None


class _Issuer(IssuerParameter):
    def __init__(self, server) -> None:
        self.server = server

    def get_issuer(self) -> str:
        return self.server.issuer


def build_server(app, *, store, clock, keys, issuer, clients, apis) -> LabAuthorizationServer:
    """The provider's Authlib server for ``app``: every grant, endpoint and extension."""
    server = LabAuthorizationServer(
        app, store=store, clock=clock, keys=keys, issuer=issuer, clients=clients, apis=apis
    )
    server.register_grant(
        AuthorizationCodeGrant, [StrictCodeChallenge(required=True), LabOpenIDCode(server)]
    )
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(RefreshTokenGrant)
    server.register_grant(TokenExchangeGrant)
    server.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT(server))
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    server.register_extension(_Issuer(server))
    return server
