"""OAuth 2.0 Token Exchange (RFC 8693): a service trades the token it received for one to call
the next service with, on the same user's behalf.

Authlib ships no RFC 8693 grant (its ``rfc8693`` module is a docstring), so this is a grant of
our own, registered like Authlib's built-in ones. The orders API, called by a user, calls
billing: it sends the user's token (``subject_token``) and asks for ``audience=billing`` and
the one scope it needs. It gets a token whose

* ``aud`` is billing (the user's token was for orders, and billing refuses it);
* ``scope`` is only what the exchange asked for and the orders service may have;
* ``sub`` is still the user, and ``act`` names the orders service (RFC 8693 section 4.1):
  billing can tell who acts for whom; a chain of services nests ``act`` claims;
* ``exp`` is never later than the user's token's.
"""

from __future__ import annotations

from types import SimpleNamespace

from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oauth2.rfc6749.errors import (
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.grants import BaseGrant, TokenEndpointMixin
from flask import g

from ..access_tokens import TokenPolicy, TokenRejected, verify_access_token
from . import records
from .clients import API_SCOPES, EXCHANGE_PREREQUISITES, TOKEN_EXCHANGE
from .errors import safe
from .tokens import ACCESS_TOKEN_LIFETIME

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"


class InvalidTarget(OAuth2Error):
    """RFC 8693 section 2.2.2: the audience or resource asked for is not one this client may
    get a token for."""

    error = "invalid_target"


class TokenExchangeGrant(BaseGrant, TokenEndpointMixin):
    """``grant_type=urn:ietf:params:oauth:grant-type:token-exchange`` (RFC 8693 section 2)."""

    GRANT_TYPE = TOKEN_EXCHANGE
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "private_key_jwt"]

    def validate_token_request(self):
        client = self.authenticate_token_endpoint_client()
        self.request.client = client
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("this client may not use token exchange")
        form = self.request.form
        for name in ("subject_token", "subject_token_type"):
            if not form.get(name):
                raise InvalidRequestError(f"Missing '{name}' (RFC 8693 section 2.1)")
        if form["subject_token_type"] != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(
                f"subject_token_type must be {ACCESS_TOKEN_TYPE!r}: this server exchanges "
                "access tokens it issued"
            )
        requested = form.get("requested_token_type") or ACCESS_TOKEN_TYPE
        if requested not in (ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE):
            raise InvalidRequestError(
                safe(f"requested_token_type {requested[:80]!r} is not offered")
            )
        if form.get("actor_token"):
            raise InvalidRequestError(
                "actor_token is not supported: the client's own authentication names the actor"
            )
        audience = self._audience(client, form)
        server = self.server
        try:
            # Only a token meant for this client's own API may be exchanged by it.
            subject = verify_access_token(
                form["subject_token"],
                server.keys,
                TokenPolicy(issuer=server.issuer, audience=client.api or client.client_id),
                server.clock.now(),
            ).claims
        except TokenRejected as exc:
            raise InvalidRequestError(safe(f"the subject_token is not usable: {exc}")) from None
        if subject["sub"] == subject["client_id"]:
            # RFC 9068 section 2.2: a client credentials token's sub is the client; it names no
            # user, and an exchange acts on behalf of the subject's user (RFC 8693 section 1.1).
            raise InvalidRequestError(
                "the subject_token is a client's own token (sub = client_id): it names no user "
                "to act on behalf of, so it cannot be exchanged"
            )
        stored = records.read_access_token(server.store, subject["jti"])
        if records.access_token_revoked(server.store, subject["jti"], stored.get("grant")):
            raise InvalidRequestError("the subject_token was revoked")
        scope = form.get("scope") or " ".join(API_SCOPES[audience])
        wanted = scope_to_list(scope)
        allowed = set(API_SCOPES[audience]) & set(client.scopes)
        if not wanted or not set(wanted) <= allowed:
            raise InvalidScopeError(
                f"the exchanged token may carry only {' '.join(sorted(allowed))} for {audience}"
            )
        granted = subject.get("scope")
        granted = set(granted.split()) if isinstance(granted, str) else set()
        lacking = [s for s in wanted if EXCHANGE_PREREQUISITES.get(s) not in granted]
        if lacking:
            raise InvalidScopeError(
                safe(
                    f"the user's token does not allow {lacking[0]}: it needs "
                    f"{EXCHANGE_PREREQUISITES.get(lacking[0])} in the subject_token's scope "
                    "(the exchanged token may do less than the user's, never more)"
                )
            )
        self.request.user = SimpleNamespace(username=subject["sub"])
        self.exchange = {
            "audience": audience,
            "scope": " ".join(wanted),
            "subject": subject,
            "requested": requested,
        }

    def _audience(self, client, form) -> str:
        audience = form.get("audience")
        if form.get("resource"):
            named = self.server.audience_of_resource(form["resource"])
            if named is None:  # RFC 8693 section 2.2.2: a target the server does not know
                raise InvalidTarget(safe(f"no API is at the resource {form['resource'][:80]!r}"))
            if audience and audience != named:
                # One token, one API: never silently drop one of the two targets asked for.
                raise InvalidTarget(
                    safe(
                        f"audience {audience[:40]!r} and resource (the {named} API) name two "
                        "targets; a token is for one API"
                    )
                )
            audience = named
        if not audience:
            raise InvalidRequestError("Missing 'audience' (or 'resource'): which API is it for?")
        if audience not in client.exchange_audiences:
            raise InvalidTarget(safe(f"this client may not get tokens for {audience[:80]!r}"))
        return audience

    def create_token_response(self):
        exchange, server = self.exchange, self.server
        subject = exchange["subject"]
        act = {"sub": self.request.client.client_id}
        if isinstance(subject.get("act"), dict):
            act["act"] = subject["act"]  # RFC 8693 section 4.1: the chain, newest outermost
        g.token_audience = exchange["audience"]
        g.token_extra = {"act": act}
        remaining = int(subject["exp"] - server.clock.now())
        g.token_lifetime = max(1, min(ACCESS_TOKEN_LIFETIME, remaining))
        token = self.generate_token(
            user=self.request.user, scope=exchange["scope"], include_refresh_token=False
        )
        token["issued_token_type"] = exchange["requested"]
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
