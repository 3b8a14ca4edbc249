"""Checks for exercise 10: the BFF proxy's CSRF check."""

import pytest
from werkzeug.datastructures import Headers

OWN = "http://127.0.0.1:8000"


def problem(impl, **headers):
    return impl.csrf_problem(Headers([(k.replace("_", "-"), v) for k, v in headers.items()]), OWN)


def test_the_pages_own_call_passes(impl):
    """The page's own fetch (X-CSRF: 1, same origin) passes."""
    assert problem(impl, X_CSRF="1", Origin=OWN, Sec_Fetch_Site="same-origin") is None, (
        "return None when every check passes"
    )


def test_a_client_without_origin_headers_passes(impl):
    """A non-browser client that sends X-CSRF: 1 (no Origin, no Sec-Fetch-Site) passes."""
    assert problem(impl, X_CSRF="1") is None, (
        "Origin and Sec-Fetch-Site are checked only when present"
    )


@pytest.mark.parametrize(
    "value", [None, "", "0", "true", "yes"], ids=["absent", "empty", "0", "true", "yes"]
)
def test_without_the_custom_header_it_is_refused(impl, value):
    """A request without X-CSRF: 1 (like an HTML form's) is refused."""
    headers = {"Origin": OWN} if value is None else {"X_CSRF": value, "Origin": OWN}
    reason = problem(impl, **headers)
    assert isinstance(reason, str) and reason, (
        "return a reason (a non-empty str) when X-CSRF is not exactly '1'"
    )


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:8000",
        "https://127.0.0.1:8000",
        "http://127.0.0.1:9000",
        "null",
        "http://evil.test",
    ],
)
def test_another_origin_is_refused(impl, origin):
    """A call from another origin is refused, even with the header."""
    reason = problem(impl, X_CSRF="1", Origin=origin)
    assert isinstance(reason, str) and reason, "an Origin that is not exactly own_origin: refuse"


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_the_browsers_own_word_is_respected(impl, site):
    """Sec-Fetch-Site cross-site or same-site is refused."""
    reason = problem(impl, X_CSRF="1", Sec_Fetch_Site=site)
    assert isinstance(reason, str) and reason, "only same-origin (or none) may use the session"


def test_an_origin_must_match_exactly_not_by_prefix(impl):
    """An origin that only starts like the BFF's is another origin."""
    own = "https://app.example.test"
    for origin in ("https://app.example.test.evil.test", "https://app.example.test:8443"):
        headers = Headers([("X-CSRF", "1"), ("Origin", origin)])
        reason = impl.csrf_problem(headers, own)
        assert isinstance(reason, str) and reason, "compare origins with ==, never startswith"


def test_header_names_are_case_insensitive(impl):
    """Header names match whatever their case (HTTP headers are case-insensitive)."""
    headers = Headers([("x-csrf", "1"), ("origin", OWN)])
    assert impl.csrf_problem(headers, OWN) is None, (
        "use headers.get(...): Headers ignores case for you"
    )
