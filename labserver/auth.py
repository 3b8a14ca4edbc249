"""Who is calling: one question, answered by whichever credential the request carries.

Each chapter teaches one kind of credential (HTTP Basic here, a session cookie in chapter 1, a
bearer JWT in chapter 2) and registers an *authenticator* for it in its ``init_app``. An
authenticator looks at the request and either

* returns ``None``: "this request carries no credential of my kind", or
* returns a :class:`Principal`: "valid, and it is this user", or
* raises a :class:`~labserver.http_errors.LabError`: "a credential of my kind is here, and it
  fails this rule" (expired, revoked, wrong password...).

Endpoints then just say ``@require_role("admin")`` or call :func:`current_principal`, and work
with every credential the lab knows. Roles always come from the store at the time of the
request, never from a cache, so role changes apply on the next request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Request, current_app, g, request

from .http_errors import (
    AuthenticationRequired,
    Forbidden,
    InvalidCredentials,
    InvalidRequest,
)
from .users import User, check_password

Authenticator = Callable[[Request], "Principal | None"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the user as stored now, and how they proved who they are."""

    user: User
    via: str  # "basic", "session", "bearer", ...
    details: dict[str, Any] = field(default_factory=dict)  # shown in to_json(), e.g. the kid
    claims: dict[str, Any] = field(default_factory=dict)  # a bearer token's verified claims

    def to_json(self) -> dict:
        """The caller as an API answer shows it."""
        return {**self.user.to_json(), "authenticated_by": self.via, **self.details}


def register_authenticator(app, name: str, authenticator: Authenticator, challenge: str | None) -> None:
    """Teach ``app`` one more kind of credential.

    ``challenge`` is this scheme's ``WWW-Authenticate`` value, sent with 401 answers to
    requests that carried no credential at all (None for credentials HTTP has no scheme for).
    """
    app.extensions["lab"].authenticators.append((name, authenticator, challenge))


def current_principal() -> Principal:
    """The caller of this request, or ``AuthenticationRequired`` (401) if there is none."""
    if "lab_principal" not in g:
        g.lab_principal = _authenticate()
    return g.lab_principal


def _authenticate() -> Principal:
    registered = current_app.extensions["lab"].authenticators
    for _name, authenticator, _challenge in registered:
        principal = authenticator(request)
        if principal is not None:
            return principal
    schemes = ", ".join(name for name, _, _ in registered)
    header = request.headers.get("Authorization", "")
    presented = f"the Authorization scheme {header.split()[0][:20]!r} is not accepted here; " if header.strip() else ""
    raise AuthenticationRequired(
        f"{presented}this endpoint needs a credential ({schemes})",
        headers={"WWW-Authenticate": ", ".join(c for _, _, c in registered if c)},
    )


def require_role(role: str | None = None) -> Callable:
    """Decorator: the endpoint needs an authenticated caller, holding ``role`` if given.

    The caller is passed to the view as the keyword argument ``principal``.
    """

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            principal = current_principal()
            if role is not None and not principal.user.has_role(role):
                raise Forbidden(f"this endpoint needs the role {role!r}; "
                                f"{principal.user.username} has {', '.join(principal.user.roles) or 'none'}")
            return view(*args, principal=principal, **kwargs)

        return guarded

    return decorate


def basic_authenticator(req: Request) -> Principal | None:
    """HTTP Basic (RFC 7617), parsed by werkzeug; the password is checked against its hash."""
    header = req.headers.get("Authorization", "")
    if not header[:6].lower() == "basic ":
        return None
    auth = req.authorization
    if auth is None or auth.type != "basic" or auth.username is None:
        raise InvalidRequest("the Basic credential is not base64 of 'username:password'")
    user = check_password(current_app.extensions["lab"].store, auth.username, auth.password or "")
    if user is None:
        raise InvalidCredentials("wrong username or password",
                                 headers={"WWW-Authenticate": 'Basic realm="jwt-lab"'})
    return Principal(user=user, via="basic")
