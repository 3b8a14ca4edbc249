"""Reading request input strictly: every problem becomes a 400 that names the field.

Endpoints call these instead of touching ``request.json`` directly, so that malformed JSON,
a missing field, a wrong type or an oversized value is always an
``InvalidRequest`` (400 JSON), never a ``KeyError`` turned into a 500.
"""

from __future__ import annotations

from typing import Any

from flask import request

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
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise InvalidRequest("the JSON body is nested too deeply") from None
    if body is None:
        raise InvalidRequest("the body is not valid JSON (or not UTF-8)")
    if not isinstance(body, dict):
        raise InvalidRequest(f"the JSON body must be an object, not {_json_type(body)}")
    return body


def json_or_form_object() -> dict[str, Any]:
    """The body as a dict: a JSON object, or an ``application/x-www-form-urlencoded`` form (the
    encoding OAuth endpoints such as RFC 7009 revocation and RFC 7662 introspection expect)."""
    if request.mimetype == "application/x-www-form-urlencoded":
        return {name: request.form[name] for name in request.form}
    return json_object()


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
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
