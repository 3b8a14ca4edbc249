"""The identity provider's registered clients, and which scopes belong to which API.

Four clients, one per way of getting a token that the chapter shows:

================  ============  ==========================  ====================================
client_id         type          authenticates with          grants
================  ============  ==========================  ====================================
``mobile-app``    public        nothing (PKCE instead)      authorization_code, refresh_token
``orders-service`` confidential ``client_secret_basic``     client_credentials, token exchange
``reports-job``   confidential  ``private_key_jwt``         client_credentials
``bff``           confidential  ``client_secret_basic``     authorization_code, refresh_token
================  ============  ==========================  ====================================

Each API is an *audience* with its own scopes (:data:`API_SCOPES`). A token is for exactly one
API: the provider infers ``aud`` from the scopes asked for, and refuses a request whose scopes
belong to two APIs (RFC 9068 section 3; RFC 8707 would name it with ``resource``).

Secrets are shown here on purpose, like the demo users' passwords: this is a lab.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin, list_to_scope, scope_to_list

#: Each API's audience and the scopes it understands.
API_SCOPES = {
    "orders": ("orders:read", "orders:write"),
    "billing": ("billing:read", "billing:charge"),
}
#: OpenID Connect scopes: they ask for an ID token, not for an API.
OIDC_SCOPES = ("openid", "profile")
ALL_SCOPES = OIDC_SCOPES + tuple(s for scopes in API_SCOPES.values() for s in scopes)

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"

#: What a user's token must allow for a service to get each scope on the user's behalf by token
#: exchange: orders may charge alice at billing only with a token that lets it change her orders.
EXCHANGE_PREREQUISITES = {"billing:charge": "orders:write", "billing:read": "orders:read"}

#: The confidential clients' secrets (client_secret_basic), shown to learners.
CLIENT_SECRETS = {"orders-service": "orders-to-billing-secret", "bff": "bff-confidential-secret"}

#: The redirect URI the native app registers: RFC 8252 section 7.3, any port on loopback.
NATIVE_REDIRECT_URI = "http://127.0.0.1/callback"


def audience_of(scope: str) -> str | None:
    """The API a scope belongs to (``"orders:read"`` -> ``"orders"``); None for OIDC scopes."""
    return next((api for api, scopes in API_SCOPES.items() if scope in scopes), None)


def audiences_of(scopes: str | list[str] | None) -> set[str]:
    """Every API the scopes belong to."""
    listed = scope_to_list(scopes) if isinstance(scopes, str) else (scopes or [])
    return {api for api in map(audience_of, listed) if api}


@dataclass
class Client(ClientMixin):
    """One registered client, in the shape Authlib's grants ask about."""

    client_id: str
    public: bool
    auth_method: str  # "none", "client_secret_basic" or "private_key_jwt"
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()
    #: For private_key_jwt: the client's public key set (a JWKS dict).
    jwks: dict | None = None
    #: Audiences this client may ask tokens for with token exchange.
    exchange_audiences: tuple[str, ...] = ()
    #: The API this client is (a service's own audience): the tokens it may exchange.
    api: str | None = None
    description: str = field(default="", compare=False)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        """The one registered redirect URI; None for a loopback one, whose port only the
        request can tell, so the request must name it (RFC 6749 section 3.1.2.3)."""
        if len(self.redirect_uris) != 1:
            return None
        known = urlsplit(self.redirect_uris[0])
        return None if known.hostname == "127.0.0.1" and known.port is None else known.geturl()

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes this client may have (Authlib drops the rest)."""
        if not scope:
            return ""
        return list_to_scope([s for s in scope_to_list(scope) if s in self.scopes])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match (RFC 9700 section 2.1), except the port of a loopback IP redirect
        registered without one, which a native app picks when it starts listening (RFC 8252
        section 7.3). A URI registered with its port (the BFF's) keeps it."""
        if redirect_uri in self.redirect_uris:
            return True
        try:
            given = urlsplit(redirect_uri)
            given.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            return False
        for registered in self.redirect_uris:
            known = urlsplit(registered)
            if (
                known.hostname == "127.0.0.1"
                and known.port is None
                and given.scheme == known.scheme == "http"
                and given.netloc.startswith("127.0.0.1:")
                and given.hostname == "127.0.0.1"
                and (given.path, given.query, given.fragment)
                == (known.path, known.query, known.fragment)
            ):
                return True
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        secret = CLIENT_SECRETS.get(self.client_id)
        return secret is not None and hmac.compare_digest(
            secret.encode("utf-8", "surrogatepass"), client_secret.encode("utf-8", "surrogatepass")
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


def registered_clients(bff_redirect_uri: str | None = None, reports_jwks: dict | None = None):
    """The provider's clients by id. ``bff_redirect_uri``: where the lab's BFF receives its
    code (known once the lab listens); ``reports_jwks``: the reports job's public keys."""
    clients = [
        Client(
            "mobile-app",
            public=True,
            auth_method="none",
            grant_types=("authorization_code", "refresh_token"),
            scopes=("openid", "profile", "orders:read", "orders:write"),
            redirect_uris=(NATIVE_REDIRECT_URI,),
            description="a native app on the user's phone: public, so it proves itself with PKCE",
        ),
        Client(
            "orders-service",
            public=False,
            auth_method="client_secret_basic",
            grant_types=("client_credentials", TOKEN_EXCHANGE),
            scopes=("billing:read", "billing:charge"),
            exchange_audiences=("billing",),
            api="orders",
            description="the orders API, calling billing on its own or on a user's behalf",
        ),
        Client(
            "reports-job",
            public=False,
            auth_method="private_key_jwt",
            grant_types=("client_credentials",),
            scopes=("orders:read", "billing:read"),
            jwks=reports_jwks,
            description="a nightly job that signs a JWT with its own key instead of a secret",
        ),
        Client(
            "bff",
            public=False,
            auth_method="client_secret_basic",
            grant_types=("authorization_code", "refresh_token"),
            scopes=("openid", "profile", "orders:read", "orders:write"),
            redirect_uris=(bff_redirect_uri,) if bff_redirect_uri else (),
            description="the lab's backend-for-frontend (chapter 05), a confidential web client",
        ),
    ]
    return {c.client_id: c for c in clients}
