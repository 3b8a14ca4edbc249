"""The tokens the identity provider signs: RFC 9068 access tokens and OIDC ID tokens.

Authlib's ``JWTBearerTokenGenerator`` reads ``time.time()``; the lab's clock must rule every time
decision (a notebook moves it to show expiry), so the access token's claims are built here, on
the lab clock, and signed by the lab's own signing layer
(:func:`labserver.access_tokens.issue_access_token`). Everything else about a token response
(``token_type``, ``expires_in``, ``scope``, refresh tokens) stays Authlib's
``BearerTokenGenerator``.

Who reads which:

* the **access token** is for an API: ``aud`` is the API (``"orders"``), ``typ`` is
  ``at+jwt``, and it carries ``scope`` and ``client_id``; the client must not read it;
* the **ID token** is for the client: ``aud`` is the ``client_id``, ``typ`` is ``JWT``, and it
  carries ``nonce``, ``at_hash`` and ``azp``; an API must refuse it (its ``typ`` and ``aud``).
"""

from __future__ import annotations

from authlib.oauth2.rfc6750 import BearerTokenGenerator
from flask import g

from ..access_tokens import access_token_claims, issue_access_token
from ..keys import KeyRing
from .clients import audiences_of

ACCESS_TOKEN_LIFETIME = 300  # seconds: short, because every API verifies it alone
ID_TOKEN_LIFETIME = 300
REFRESH_TOKEN_LIFETIME = 24 * 3600
ACCESS_TOKEN_ALG = "ES256"
ID_TOKEN_ALG = "RS256"  # OpenID Connect Core section 3.1.3.7: RS256 is the default


class AudienceProblem(ValueError):
    """The scopes asked for name no API, or more than one (an ``invalid_scope``)."""


def audience_for(scope: str | None, issuer: str) -> str:
    """The one API a token with ``scope`` is for; the provider itself (its userinfo) when the
    scopes are OpenID Connect's only. Scopes of two APIs raise :class:`AudienceProblem`."""
    apis = audiences_of(scope)
    if len(apis) > 1:
        raise AudienceProblem(
            f"the scopes belong to {len(apis)} APIs ({', '.join(sorted(apis))}); ask for one "
            "API per token, so that each token is accepted by one audience only"
        )
    return apis.pop() if apis else issuer


class LabTokenGenerator(BearerTokenGenerator):
    """Token responses whose access token is an RFC 9068 JWT signed by ``keys``.

    A view may set ``flask.g.token_extra`` (claims to add, e.g. ``act`` or ``cnf``) and
    ``flask.g.token_audience`` before asking Authlib for a token response.
    """

    def __init__(self, keys: KeyRing, issuer: str, clock, refresh_token_generator) -> None:
        super().__init__(self.access_token_generator, refresh_token_generator, self.expires_in_for)
        self.keys = keys
        self.issuer = issuer
        self.clock = clock

    def expires_in_for(self, client, grant_type: str) -> int:
        return getattr(g, "token_lifetime", None) or ACCESS_TOKEN_LIFETIME

    def access_token_generator(self, client, grant_type: str, user, scope: str) -> str:
        extra = dict(getattr(g, "token_extra", None) or {})
        audience = getattr(g, "token_audience", None) or audience_for(scope, self.issuer)
        subject = user.username if user is not None else client.get_client_id()
        claims = access_token_claims(
            subject,
            issuer=self.issuer,
            audience=audience,
            now=self.clock.now(),
            lifetime=getattr(g, "token_lifetime", None) or ACCESS_TOKEN_LIFETIME,
            client_id=client.get_client_id(),
            extra={"scope": scope or "", **extra},
        )
        del claims["nbf"]  # RFC 9068 section 2.2 lists no nbf; iat says when
        g.issued_claims = claims
        return issue_access_token(self.keys, claims, ACCESS_TOKEN_ALG)

    def generate(
        self, grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True
    ):
        token = super().generate(grant_type, client, user, scope, expires_in, include_refresh_token)
        if (g.get("token_extra") or {}).get("cnf"):
            token["token_type"] = "DPoP"  # RFC 9449 section 5: a bound token is not a Bearer one
        return token
