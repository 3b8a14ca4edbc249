"""Checks for exercise 12: the session cookie, as the cookie inspector (and a browser) sees it."""

from labserver.tools.cookies import inspect

SID = "s" * 43
HTTPS = ("https://app.example.test/login", "https://app.example.test/api/me")
HTTP = ("http://staging.example.test:8000/login", "http://staging.example.test:8000/api/me")  # no TLS


def problems(impl, https):
    url, api = HTTPS if https else HTTP
    return inspect(impl.session_cookie(SID, https=https), url=url, api_url=api)


def test_over_https_browsers_keep_and_send_it(impl):
    """Over HTTPS, the cookie is accepted and sent to the API."""
    report = problems(impl, https=True)
    assert report.ok, "the inspector's problems: " + "; ".join(report.problems)


def test_over_http_on_a_dev_machine_it_is_sent_back(impl):
    """Over plain HTTP (a staging host without TLS), the cookie comes back (no login loop)."""
    report = problems(impl, https=False)
    assert report.ok, "the inspector's problems: " + "; ".join(report.problems)


def test_no_domain_attribute(impl):
    """The cookie names no Domain: it stays with the exact host that set it."""
    assert "domain=" not in impl.session_cookie(SID, https=True).lower(), \
        "drop domain=...: a Domain for another site is rejected, and any Domain widens the cookie"


def test_path_covers_the_whole_site(impl):
    """Path=/ so that the API's paths get it too."""
    assert "path=/;" in impl.session_cookie(SID, https=True).lower() + ";", "path='/'"


def test_hidden_from_scripts(impl):
    """HttpOnly, so that page scripts (and XSS) cannot read it."""
    for https in (True, False):
        assert "httponly" in impl.session_cookie(SID, https=https).lower(), "httponly=True"


def test_not_sent_on_other_sites_posts(impl):
    """SameSite=Lax (or Strict), not None."""
    for https in (True, False):
        value = impl.session_cookie(SID, https=https).lower()
        assert "samesite=lax" in value or "samesite=strict" in value, "samesite='Lax'"


def test_secure_only_over_https(impl):
    """Secure over HTTPS; not over plain HTTP, where (but on localhost) it would never come back."""
    assert "secure" in impl.session_cookie(SID, https=True).lower().replace("httponly", "")
    assert "secure" not in impl.session_cookie(SID, https=False).lower(), "secure=https"
