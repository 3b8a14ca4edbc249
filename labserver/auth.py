"""Who is calling: one question, answered by whichever credential the request carries.

Each chapter teaches one kind of credential (HTTP Basic here, a session cookie in chapter 1, a
bearer JWT in chapter 2) and registers an *authenticator* for it in its ``init_app``. An
authenticator looks at the request and either

* returns ``None``: "this request carries no credential of my kind", or
* returns a :class:`Principal`: "valid, and it is this user", or
* raises a :class:`~labserver.http_errors.LabError`: "a credential of my kind is here, and it
  fails this rule" (expired, revoked, wrong password...).

Endpoints then just say ``@require_role("admin")`` or call :func:`current_principal`, and work
with every credential the lab knows; an endpoint that acts on one kind of credential (the
caller's session, the caller's tokens) asks for it with :func:`require_credential`.

Authorization decisions come from the store at the time of the request, never from a cache or
a token's claims: ``require_role`` re-reads a bearer caller's user record and checks that the
token is not revoked (deny list, token version) in one round trip, so a demoted admin's or a
logged-out admin's still-valid token stops working on ``/admin/*`` at once, and a deleted user's
token opens no endpoint that changes anything. (Chapter 3's ``/api/reports/from-token`` trusts
the token's ``roles`` on purpose, to show what that costs.)
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
    InvalidSession,
    InvalidToken,
    LabError,
    bearer_challenge,
)
from .inputs import authorization, json_object, string_field
from .revocation import revocation_problem
from .users import User, check_password, user_from_record, user_key

Authenticator = Callable[[Request], "Principal | None"]

MAX_USERNAME, MAX_PASSWORD = 64, 256


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


def register_authenticator(
    app, name: str, authenticator: Authenticator, challenge: str | None
) -> None:
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
    presented = (
        f"the Authorization scheme {header.split()[0][:20]!r} is not accepted here; "
        if header.strip()
        else ""
    )
    challenges = [c for _, _, c in registered if c]
    if request.headers.get("Sec-Fetch-Mode"):
        # A browser (it sends Sec-Fetch-*) answers a Basic challenge with a login dialog, and a
        # page's fetch waits on it; the other challenges still name what the endpoint takes.
        challenges = [c for c in challenges if not c.startswith("Basic ")] or challenges
    raise AuthenticationRequired(
        f"{presented}this endpoint needs a credential ({schemes})",
        headers={"WWW-Authenticate": ", ".join(challenges)},
    )


def _stored_user(principal: Principal) -> User:
    """The caller's user record as stored now (a bearer token's claims are not enough: the
    token must not be revoked either, by the deny list or the token version)."""
    if principal.via != "bearer":
        return principal.user  # basic and session callers were just read from the store
    record, problem = revocation_problem(current_app.extensions["lab"].store, principal.claims)
    if problem:
        raise InvalidToken(f"revoked: {problem} (re-checked in the store)")
    return user_from_record(principal.user.username, record)


def require_role(role: str | None = None) -> Callable:
    """Decorator: the endpoint needs an authenticated caller, holding ``role`` if given.

    The caller's roles are those stored now, whatever credential they came with: a bearer
    caller costs one store read here. The caller is passed to the view as the keyword argument
    ``principal``, with ``principal.user`` as stored now.
    """

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            principal = current_principal()
            user = _stored_user(principal)
            if user is not principal.user:
                principal = Principal(
                    user=user, via=principal.via, details=principal.details, claims=principal.claims
                )
            if role is not None and not principal.user.has_role(role):
                raise Forbidden(
                    f"this endpoint needs the role {role!r}; "
                    f"{principal.user.username} has {', '.join(principal.user.roles) or 'none'}"
                )
            return view(*args, principal=principal, **kwargs)

        return guarded

    return decorate


#: What a request must carry for :func:`require_credential`, and the error when it does not.
_CREDENTIAL_KINDS: dict[str, tuple[str, Callable[[str], LabError]]] = {
    "bearer": (
        "this API takes a bearer token (Authorization: Bearer ...)",
        lambda text: AuthenticationRequired(text, headers={"WWW-Authenticate": bearer_challenge()}),
    ),
    "session": (
        "this endpoint acts on the caller's session; send the session cookie",
        InvalidSession,
    ),
}


def require_credential(kind: str) -> Principal:
    """The caller, who must have authenticated with a ``kind`` credential ("bearer" or
    "session"), e.g. because the endpoint acts on that session or on that user's tokens."""
    principal = current_principal()
    if principal.via != kind:
        wanted, error = _CREDENTIAL_KINDS[kind]
        raise error(f"{wanted}, not {principal.via} credentials")
    return principal


def password_login(body: dict[str, Any] | None = None) -> User:
    """The user named by ``username`` and ``password`` in ``body`` (default: the JSON body),
    or ``InvalidCredentials`` (401) without saying which half was wrong."""
    body = json_object() if body is None else body
    username = string_field(body, "username", max_length=MAX_USERNAME)
    password = string_field(body, "password", max_length=MAX_PASSWORD)
    user = _check_password(username, password)
    if user is None:
        raise InvalidCredentials("wrong username or password")
    return user


def login_still_current(user: User, undo: Callable[[], object]) -> None:
    """After a login wrote its session or refresh family: if, meanwhile, the account was
    deleted (and perhaps restored) or logged out everywhere (its token version moved), call
    ``undo`` (which ends what the login wrote) and raise ``InvalidCredentials``. Whatever the
    login wrote is indexed under the user before this check, so a deletion or logout-everywhere
    either ends it or is seen here: no credential outlives the account."""
    store = current_app.extensions["lab"].store
    password_hash, version = store.hmget(user_key(user.username), "password_hash", "token_version")
    if password_hash is None or version != str(user.token_version):
        undo()
        raise InvalidCredentials(
            "the account changed during the login (deleted, or logged out everywhere); log in again"
        )


def _check_password(username: str, password: str) -> User | None:
    # A store that came back empty (Redis restarted without persistence) gets its demo users
    # again; without this, every login would fail until the lab restarted.
    state = current_app.extensions["lab"]
    reseed_at = state.clock.now() if current_app.config["SEED_DEMO_USERS"] else None
    return check_password(state.store, username, password, reseed_at=reseed_at)


def basic_authenticator(req: Request) -> Principal | None:
    """HTTP Basic (RFC 7617), parsed by werkzeug; the password is checked against its hash."""
    header = req.headers.get("Authorization", "")
    if not header[:6].lower() == "basic ":
        return None
    auth = authorization(req)
    if auth is None or auth.type != "basic" or auth.username is None:
        raise InvalidRequest("the Basic credential is not base64 of 'username:password'")
    username, password = auth.username, auth.password or ""
    user = None
    if len(username) <= MAX_USERNAME and len(password) <= MAX_PASSWORD:
        user = _check_password(username, password)
    if user is None:
        raise InvalidCredentials(
            "wrong username or password", headers={"WWW-Authenticate": 'Basic realm="jwt-lab"'}
        )
    return Principal(user=user, via="basic")
