"""Every error the lab answers with, in one place.

Each failure is an exception class with a fixed HTTP status and a short machine-readable
``error`` code (the OAuth / RFC 6750 style), plus a human ``error_description`` saying which
rule failed. The app turns any of them into the JSON body::

    {"error": "<code>", "error_description": "<which rule failed, in words>"}

Hierarchy (like PyJWT's exceptions, one docstring each)::

    LabError
    ├── InvalidRequest          400 invalid_request
    ├── InvalidGrant            400 invalid_grant        (RFC 6749 section 5.2)
    ├── AuthenticationRequired  401 authentication_required
    ├── InvalidCredentials      401 invalid_credentials
    ├── InvalidToken            401 invalid_token        (+ WWW-Authenticate: Bearer error=...)
    ├── InvalidSession          401 invalid_session
    ├── Forbidden               403 forbidden
    ├── InsufficientScope       403 insufficient_scope   (+ WWW-Authenticate: Bearer scope=...)
    ├── CsrfRejected            403 invalid_csrf_token
    ├── NotFound                404 not_found
    ├── BadGateway              502 bad_gateway
    ├── ServiceUnavailable      503 service_unavailable
    └── StoreUnavailable        503 store_unavailable
"""

from __future__ import annotations

import re

from flask import Response, jsonify


class LabError(Exception):
    """Base class: an answer the lab gives on purpose, never a crash."""

    status = 400
    error = "invalid_request"

    def __init__(self, description: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.headers = dict(headers or {})

    def response(self) -> Response:
        """This error as a Flask JSON response with its status and headers."""
        return error_response(self.status, self.error, self.description, self.headers)


class InvalidRequest(LabError):
    """400: the request itself is malformed: not JSON, a missing or wrongly typed field,
    a value too long, a header that cannot be parsed."""

    status = 400
    error = "invalid_request"


class InvalidGrant(LabError):
    """400: a refresh token (or other grant) that cannot be used: unknown, expired, reused,
    or its family revoked (RFC 6749 section 5.2)."""

    status = 400
    error = "invalid_grant"


class AuthenticationRequired(LabError):
    """401: the endpoint needs a credential and the request presented none."""

    status = 401
    error = "authentication_required"


class InvalidCredentials(LabError):
    """401: a username/password pair was presented and is wrong (which half is not said)."""

    status = 401
    error = "invalid_credentials"


class InvalidToken(LabError):
    """401: a bearer token was presented and failed a rule (RFC 6750 section 3.1).

    The response carries ``WWW-Authenticate: Bearer error="invalid_token",
    error_description="..."`` naming the rule, as RFC 6750 asks.
    """

    status = 401
    error = "invalid_token"

    def __init__(self, description: str, *, headers: dict[str, str] | None = None) -> None:
        headers = {"WWW-Authenticate": bearer_challenge(self.error, description), **(headers or {})}
        super().__init__(description, headers=headers)


class InvalidSession(LabError):
    """401: a session cookie was presented and does not name a live session (unknown,
    logged out, revoked, timed out, or malformed); the description says which."""

    status = 401
    error = "invalid_session"


class Forbidden(LabError):
    """403: the caller is known but lacks the role (or other right) the endpoint needs."""

    status = 403
    error = "forbidden"


class InsufficientScope(LabError):
    """403: the token is valid, but its ``scope`` lacks one this endpoint needs (RFC 6750
    section 3.1). The challenge names the scopes required, so the client can ask for them."""

    status = 403
    error = "insufficient_scope"

    def __init__(self, description: str, *, scope: str, headers: dict[str, str] | None = None):
        challenge = bearer_challenge(self.error, description) + f', scope="{scope}"'
        super().__init__(description, headers={"WWW-Authenticate": challenge, **(headers or {})})


class CsrfRejected(LabError):
    """403: a state-changing request authenticated by a cookie lacks the session's CSRF token
    (or carries a wrong one), so it may come from another site's page: refused."""

    status = 403
    error = "invalid_csrf_token"


class NotFound(LabError):
    """404: the named thing (user, session, route) does not exist."""

    status = 404
    error = "not_found"


class BadGateway(LabError):
    """502: a service the lab called on the client's behalf answered with something unusable."""

    status = 502
    error = "bad_gateway"


class ServiceUnavailable(LabError):
    """503: the lab cannot serve this now for a reason other than its store (e.g. misconfigured)."""

    status = 503
    error = "service_unavailable"


class StoreUnavailable(LabError):
    """503: the session/token store cannot be reached, so the lab fails closed.

    Nothing that needs the store is decided without it: no session is trusted, no token
    is checked against a deny list that could not be read.
    """

    status = 503
    error = "store_unavailable"

    def __init__(self, description: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(description, headers={"Retry-After": "1", **(headers or {})})


def error_response(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    """The lab's one error shape: ``{"error", "error_description"}`` with ``status``."""
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# RFC 6750 section 3: error_description may only hold %x20-21 / %x23-5B / %x5D-7E,
# so no double quote and no backslash can ever need escaping inside the quoted string.
_NOT_ALLOWED_IN_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def bearer_challenge(
    error: str | None = None, description: str | None = None, realm: str = "jwt-lab"
) -> str:
    """A ``WWW-Authenticate`` value for the Bearer scheme, e.g.
    ``Bearer realm="jwt-lab", error="invalid_token", error_description="token expired"``.

    Without ``error`` it is the bare challenge RFC 6750 asks for when no token was sent.
    """
    return challenge("Bearer", f'realm="{realm}"', error, description)


def challenge(scheme: str, first: str, error: str | None, description: str | None) -> str:
    """``<scheme> <first>, error="...", error_description="..."`` (RFC 6750 section 3, which
    RFC 9449 section 7.1 follows for DPoP); the description keeps to RFC 6750's characters, the
    others becoming "?"."""
    parts = [first]
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{_NOT_ALLOWED_IN_DESCRIPTION.sub("?", description)}"')
    return f"{scheme} " + ", ".join(parts)
