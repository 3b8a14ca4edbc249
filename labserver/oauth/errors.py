"""OAuth error descriptions that Authlib can carry.

RFC 6749 section 5.2 allows only printable ASCII without ``"`` and ``\\`` in an
``error_description``, and Authlib's ``OAuth2Error`` raises ``ValueError`` for anything else,
so a description that quotes what a client sent (a non-ASCII audience, a claim value) would
turn a client's mistake into a 500.
"""

from __future__ import annotations

#: What ``ValueError`` says when Authlib refuses a description (authlib.oauth2.base).
AUTHLIB_REFUSAL = "Error description contains forbidden characters"


def safe(text: str) -> str:
    """``text`` with every character an ``error_description`` may not carry replaced by
    ``?``."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)


def is_description_refusal(exc: BaseException) -> bool:
    """True for Authlib's ``ValueError`` about a description it cannot carry (one of its own
    messages that quotes the request, e.g. an unknown ``response_type`` or ``redirect_uri``)."""
    return isinstance(exc, ValueError) and str(exc).startswith(AUTHLIB_REFUSAL)
