"""Checks for exercise 19: ``check_access``, the orders service's audience and scope decision.

The claims are those of tokens whose signature is already verified; what is left to check is
whom the token is for (aud) and what it allows (scope), and to answer each failure as RFC 6750
§3.1 says.
"""

import pytest

ORDERS = "orders"
INVALID, INSUFFICIENT = "401 invalid_token", "403 insufficient_scope"


def claims(**changes):
    """A verified access token's claims for the orders service; a claim given as None is left
    out."""
    base = {
        "iss": "https://idp.jwt-lab.test",
        "sub": "alice",
        "aud": ORDERS,
        "client_id": "lab-spa",
        "scope": "openid orders:read orders:write",
        "iat": 1_800_000_000,
        "exp": 1_800_000_300,
        "jti": "at-1",
        **changes,
    }
    return {k: v for k, v in base.items() if v is not None}


def decision(impl, token_claims, scopes=("orders:read",), audience=ORDERS):
    """What check_access answers: "allowed", "<status> <error>", or the exception raised."""
    try:
        result = impl.check_access(token_claims, audience=audience, required_scopes=list(scopes))
    except NotImplementedError:
        raise
    except impl.AccessDenied as denied:
        return f"{denied.status} {denied.error}"
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__} (raise AccessDenied instead)"
    return "allowed" if result is None else f"returned {result!r} (return None)"


def denial(impl, token_claims, scopes=("orders:read",), audience=ORDERS):
    """The AccessDenied raised, or None."""
    try:
        impl.check_access(token_claims, audience=audience, required_scopes=list(scopes))
    except impl.AccessDenied as denied:
        return denied
    return None


@pytest.mark.parametrize(
    ("aud", "scopes"),
    [
        pytest.param(ORDERS, ["orders:read"], id="aud-string"),
        pytest.param(["billing", ORDERS], ["orders:read"], id="aud-list"),
        pytest.param(ORDERS, ["orders:write", "orders:read"], id="two-scopes"),
        pytest.param(ORDERS, [], id="no-scope-needed"),
    ],
)
def test_the_right_audience_and_scopes_are_allowed(impl, aud, scopes):
    """A token for orders with the scopes needed is allowed (None is returned)."""
    assert decision(impl, claims(aud=aud), scopes) == "allowed", (
        "aud naming this server (the string, or one element of the list) and every required "
        "scope granted: return None"
    )


@pytest.mark.parametrize("aud", ["billing", ["billing"], ["billing", "reports"]])
def test_a_token_for_another_service_is_401_invalid_token(impl, aud):
    """A token minted for billing is refused by orders with 401 invalid_token."""
    assert decision(impl, claims(aud=aud)) == INVALID, (
        "a token for another audience is not a valid token here (RFC 9068 §4): 401 "
        "invalid_token, not 403, which would say the token is good but not enough"
    )


@pytest.mark.parametrize(
    "aud", ["orders-admin", "https://orders.evil.test", "xorders", ["orders-admin", "billing"]]
)
def test_an_audience_that_merely_contains_the_name_is_refused(impl, aud):
    """An aud like "orders-admin" is not "orders"."""
    assert decision(impl, claims(aud=aud)) == INVALID, (
        "compare aud with the audience as whole values: on a string aud, 'orders' in "
        "'orders-admin' is a substring test, and true"
    )


@pytest.mark.parametrize(
    "aud",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param([], id="empty-list"),
        pytest.param(42, id="number"),
        pytest.param({"orders": True}, id="object"),
        pytest.param([["orders"]], id="nested-list"),
    ],
)
def test_a_missing_or_malformed_aud_is_401_not_a_crash(impl, aud):
    """No aud, or one that is neither a string nor a list of strings: 401 invalid_token."""
    assert decision(impl, claims(aud=aud)) == INVALID, (
        "aud is a string or a list of strings (RFC 7519 §4.1.3): anything else names no one, "
        "so 401 invalid_token, and never an exception (which the server would answer with 500)"
    )


def test_a_missing_scope_is_403_insufficient_scope(impl):
    """A token for orders without the scope needed gets 403 insufficient_scope."""
    assert decision(impl, claims(scope="openid orders:read"), ["orders:write"]) == INSUFFICIENT, (
        "the token is valid, it just does not allow this: 403 insufficient_scope (RFC 6750 "
        "§3.1), not 401, which would make the client log in again for nothing"
    )


def test_every_required_scope_is_needed(impl):
    """Needing orders:read and orders:write, a token with only orders:read is refused."""
    token = claims(scope="orders:read")
    assert decision(impl, token, ["orders:read", "orders:write"]) == INSUFFICIENT, (
        "every required scope must be granted, not just one of them"
    )


@pytest.mark.parametrize("granted", ["orders:read-all", "orders:readonly", "xorders:read"])
def test_a_scope_is_a_whole_word_not_a_substring(impl, granted):
    """Scope "orders:read-all" does not grant "orders:read"."""
    assert decision(impl, claims(scope=f"openid {granted}"), ["orders:read"]) == INSUFFICIENT, (
        "split scope on spaces and look for whole scopes: 'orders:read' in 'orders:read-all' "
        "is a substring test, and true"
    )


def test_the_scope_claim_is_split_on_spaces(impl):
    """Scopes are found anywhere in the space-separated list, in any order."""
    token = claims(scope="billing:read orders:write openid orders:read")
    assert decision(impl, token, ["orders:read", "orders:write"]) == "allowed", (
        "scope is one string of scopes separated by spaces (RFC 8693 §4.2): split it into "
        "scopes, not into characters"
    )


@pytest.mark.parametrize("scope", [None, ""], ids=["absent", "empty"])
def test_no_scope_means_no_scopes(impl, scope):
    """A token without scope (or with an empty one) grants nothing, but is still a token."""
    assert decision(impl, claims(scope=scope), ["orders:read"]) == INSUFFICIENT, (
        "no scope claim means no scopes: 403 insufficient_scope (and never a KeyError)"
    )
    assert decision(impl, claims(scope=scope), []) == "allowed", (
        "a request that needs no scope only needs the right audience"
    )


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param(["orders:read"], id="list"),
        pytest.param(42, id="number"),
        pytest.param({"orders:read": True}, id="object"),
    ],
)
def test_a_scope_claim_that_is_not_a_string_is_401(impl, scope):
    """A scope claim that is not a string: 401 invalid_token, not a crash, not a grant."""
    assert decision(impl, claims(scope=scope), ["orders:read"]) == INVALID, (
        "scope is a space-separated string (RFC 9068 §2.2.3): anything else is a malformed "
        "token, 401 invalid_token"
    )


def test_the_audience_is_checked_before_the_scope(impl):
    """A token for billing without orders' scope gets 401 (wrong audience), not 403."""
    assert decision(impl, claims(aud="billing", scope="billing:read")) == INVALID, (
        "check aud first: a token that is not for this server is invalid here, whatever its scopes"
    )


def test_the_description_says_which_rule_failed(impl):
    """Each refusal carries a description; a missing scope's names that scope."""
    denied = denial(impl, claims(scope="orders:read"), ["orders:read", "orders:write"])
    assert denied is not None, "a missing scope is refused with AccessDenied"
    assert isinstance(denied.description, str) and "orders:write" in denied.description, (
        "error_description names the scope the request needs, so that the client can ask for "
        "it (RFC 6750 §3.1)"
    )
    denied = denial(impl, claims(aud="billing"))
    assert denied is not None, "a wrong audience is refused with AccessDenied"
    assert isinstance(denied.description, str) and denied.description, (
        "say why, in the description: the token's aud is not this server"
    )
