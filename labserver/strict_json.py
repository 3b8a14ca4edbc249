"""JSON as RFC 8259 defines it, and nothing Python's ``json`` module lets through besides.

Python's parser accepts more than JSON: ``NaN`` and ``Infinity``, numbers too big for a float
(``1e999`` becomes infinity), lone UTF-16 surrogates (``"\\ud800"`` becomes a string that cannot
be encoded back), and a key repeated in one object (the last one wins, so two parsers may read
two different objects). Each of those once turned a request into a 500 somewhere in the lab, or
made a token that never expires. Request bodies and token payloads go through :func:`loads`, and
anything already parsed can be checked with :func:`problem`.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: Deeper than this, a document is refused (Python's parser would hit its recursion limit).
MAX_DEPTH = 64


class NotStrictJSON(ValueError):
    """The text is not JSON as RFC 8259 defines it; the message says where and why."""


def loads(text: str | bytes) -> Any:
    """Parse ``text`` (bytes must be UTF-8) as strict JSON, or raise :class:`NotStrictJSON`."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotStrictJSON(
                f"it is not UTF-8 (byte {exc.start}), which JSON must be (RFC 8259 section 8.1)"
            ) from None
    text = text.removeprefix("\ufeff")  # RFC 8259 section 8.1: a parser MAY ignore a BOM
    try:
        value = json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except NotStrictJSON:
        raise
    except RecursionError:
        raise NotStrictJSON("it is nested too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError, or an integer of more than 4,300 digits
        raise NotStrictJSON(f"it is not valid JSON ({str(exc)[:100]})") from None
    found = problem(value)
    if found:
        raise NotStrictJSON(found)
    return value


def problem(value: Any, depth: int = 0) -> str | None:
    """What makes an already parsed ``value`` not representable as strict JSON, or None:
    a non-finite number, a string with a lone surrogate, or nesting deeper than MAX_DEPTH."""
    if depth > MAX_DEPTH:
        return f"it is nested more than {MAX_DEPTH} levels deep"
    if isinstance(value, float) and not math.isfinite(value):
        return f"it holds the number {value!r}, which JSON cannot represent (RFC 8259 section 6)"
    if isinstance(value, str):
        return _string_problem(value)
    if isinstance(value, dict):
        items = list(value.items())
        for name, item in items:
            found = (_string_problem(name) if isinstance(name, str) else None) or problem(
                item, depth + 1
            )
            if found:
                return found
    elif isinstance(value, list):
        for item in value:
            found = problem(item, depth + 1)
            if found:
                return found
    return None


def _string_problem(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"a string holds a lone surrogate (U+{ord(text[exc.start]):04X}), which is not a "
            "character (RFC 8259 section 8.2)"
        )
    return None


def _no_constant(name: str) -> Any:
    raise NotStrictJSON(f"it holds {name}, which is not JSON (RFC 8259 section 6)")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise NotStrictJSON(
            f"the number {text[:30]} is too large to represent (RFC 8259 section 6)"
        )
    return number


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            shown = name.encode("utf-8", "backslashreplace").decode()[:40]
            raise NotStrictJSON(
                f"the key {shown!r} appears twice in one object, so parsers may "
                "disagree on its value (RFC 8259 section 4)"
            )
        result[name] = value
    return result
