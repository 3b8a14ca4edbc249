"""The lab's configuration keys, each with its default and what it does.

``create_app(config)`` and ``start_lab(config=...)`` take a dict of these keys. A chapter
module adds its own keys by listing ``Option``\\ s in its ``OPTIONS``; an unknown key is refused
with the list of known ones, so a typo never silently does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    """One configuration key: its name, default value and a sentence on what it does."""

    name: str
    default: Any
    doc: str


#: Keys every lab has, whatever chapters are registered.
CORE_OPTIONS = (
    Option(
        "SERVICE_NAME",
        "lab",
        "Name this app gives itself in the request log (several services may share a notebook).",
    ),
    Option(
        "MAX_CONTENT_LENGTH",
        64 * 1024,
        "Largest request body in bytes; a bigger one is refused with 413 (Flask's own key).",
    ),
    Option(
        "SEED_DEMO_USERS",
        True,
        "Create the demo users (alice, bob, admin) in the store if they are not there yet.",
    ),
    Option("REQUEST_LOG_SIZE", 1000, "How many recent requests the request log keeps."),
    Option(
        "APP_ROLE",
        "lab",
        "Which system this app is: 'lab' (the chapters' API), 'identity-provider', 'orders', "
        "'billing' (chapter 04's separate systems), 'attacker' "
        "(chapters 07 and 08's other site) or 'capstone' (chapter 11's black box). "
        "Each chapter module says where it belongs.",
    ),
)


def merge(
    options: list[Option], given: dict[str, Any] | None, flask_keys: set[str]
) -> dict[str, Any]:
    """Defaults of ``options`` overridden by ``given``; unknown keys raise ``KeyError``.

    ``flask_keys`` (Flask's own config keys, e.g. ``TESTING``) are accepted as they are.
    """
    merged = {o.name: o.default for o in options}
    known = set(merged) | flask_keys
    for name, value in (given or {}).items():
        if name not in known:
            listing = ", ".join(sorted(merged))
            raise KeyError(f"unknown lab config key {name!r}; the lab knows: {listing}")
        merged[name] = value
    return merged


def describe(options: list[Option]) -> str:
    """Every key with its default and doc, as text (``python -m labserver config``)."""
    return "\n".join(f"{o.name} = {o.default!r}\n    {o.doc}" for o in options)
