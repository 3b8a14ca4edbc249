"""Reading request input strictly: every problem becomes a 400 that names the field.

Endpoints call these instead of touching ``request.json`` or ``request.authorization``
directly, so that malformed JSON (or JSON that only Python accepts: ``NaN``, lone surrogates,
repeated keys, see :mod:`labserver.strict_json`), a missing field, a wrong type, an oversized
value or an unparsable ``Authorization`` header is always an ``InvalidRequest`` (400 JSON),
never an exception turned into a 500.
"""

from __future__ import annotations

from typing import Any

from flask import Request, request
from werkzeug.datastructures import Authorization

from . import strict_json
from .http_errors import InvalidRequest

#: Longest string a lab field accepts (usernames, passwords, role names, tokens are shorter).
MAX_FIELD_LENGTH = 1024


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or ``InvalidRequest`` saying what is wrong with it."""
    if not request.is_json:
        raise InvalidRequest(
            f"expected a JSON body with Content-Type: application/json, "
            f"got {request.mimetype or 'no content type'}"
        )
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidRequest(f"the JSON body must be an object, not {_json_type(body)}")
    return body


def json_body() -> Any:
    """The request body parsed as strict JSON (any JSON value), or ``InvalidRequest``."""
    try:
        return strict_json.loads(request.get_data(cache=True))
    except strict_json.NotStrictJSON as exc:
        raise InvalidRequest(f"the body is not usable JSON: {exc}") from None


def json_or_form_object() -> dict[str, Any]:
    """The body as a dict: a JSON object, or an ``application/x-www-form-urlencoded`` form (the
    encoding OAuth endpoints such as RFC 7009 revocation and RFC 7662 introspection expect).

    A form field sent twice is refused, as RFC 6749 section 3.1 has it for OAuth requests."""
    if request.mimetype == "application/x-www-form-urlencoded":
        repeated = [name for name, values in request.form.lists() if len(values) > 1]
        if repeated:
            raise InvalidRequest(
                f"the form field {repeated[0][:40]!r} is sent more than once (RFC 6749 section 3.1)"
            )
        return request.form.to_dict()
    return json_object()


def authorization(req: Request) -> Authorization | None:
    """``req.authorization`` (werkzeug's parse of the ``Authorization`` header), or
    ``InvalidRequest`` when werkzeug cannot parse it (e.g. ``Basic é``: base64 of non-ASCII)."""
    try:
        return req.authorization
    except (ValueError, UnicodeError):
        raise InvalidRequest(
            "the Authorization header cannot be parsed: its credential is not "
            "base64 of ASCII/UTF-8 text"
        ) from None


def string_field(body: dict[str, Any], name: str, *, max_length: int = MAX_FIELD_LENGTH) -> str:
    """``body[name]`` as a non-empty string of at most ``max_length`` characters."""
    if name not in body:
        raise InvalidRequest(f"missing field {name!r}")
    value = body[name]
    if not isinstance(value, str):
        raise InvalidRequest(f"field {name!r} must be a string, not {_json_type(value)}")
    if not value:
        raise InvalidRequest(f"field {name!r} must not be empty")
    if len(value) > max_length:
        raise InvalidRequest(f"field {name!r} is longer than {max_length} characters")
    if "\x00" in value:
        raise InvalidRequest(f"field {name!r} contains a NUL character")
    return value


def string_list_field(
    body: dict[str, Any], name: str, *, max_items: int = 32, max_length: int = 64
) -> list[str]:
    """``body[name]`` as a list of at most ``max_items`` short strings (may be empty)."""
    if name not in body:
        raise InvalidRequest(f"missing field {name!r}")
    value = body[name]
    if not isinstance(value, list):
        raise InvalidRequest(f"field {name!r} must be a list of strings, not {_json_type(value)}")
    if len(value) > max_items:
        raise InvalidRequest(f"field {name!r} has more than {max_items} items")
    for item in value:
        if not isinstance(item, str) or not item or len(item) > max_length:
            raise InvalidRequest(
                f"field {name!r} must hold non-empty strings of at most {max_length} characters"
            )
    return value


def _json_type(value: Any) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)
