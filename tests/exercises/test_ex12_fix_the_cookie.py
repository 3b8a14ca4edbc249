"""Checks for exercise 12: the session cookie, as the cookie inspector (and a browser) sees it."""

from http.cookies import CookieError, SimpleCookie

from labserver.tools.cookies import inspect

SID = "s" * 43
HTTPS = ("https://app.example.test/login", "https://app.example.test/api/me")
HTTP = (
    "http://staging.example.test:8000/login",
    "http://staging.example.test:8000/api/me",
)  # no TLS


def browser_problems(impl, https):
    """What the cookie inspector says would go wrong in a browser: a list of problems."""
    url, api = HTTPS if https else HTTP
    report = inspect(impl.session_cookie(SID, https=https), url=url, api_url=api)
    return [report.error] if report.error else report.problems


def summary(problems):
    """One short line: the first problem, and how many more the inspector found."""
    if len(problems) > 1:
        return f"{problems[0]} (and {len(problems) - 1} more: inspect() shows them all)"
    return problems[0] if problems else ""


def cookie(impl, https):
    """The cookie's name, and each attribute as a short text: "Path=/app", "no Domain", "Secure"."""
    header = impl.session_cookie(SID, https=https)
    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        pass
    assert len(jar) == 1, f"return one Set-Cookie value, name=value; attributes (got {header!r})"
    morsel = next(iter(jar.values()))
    shown = {"name": morsel.key}
    for attribute, label in (("path", "Path"), ("domain", "Domain"), ("samesite", "SameSite")):
        value = str(morsel[attribute])
        value = value.title() if attribute == "samesite" else value  # browsers ignore its case
        shown[label] = f"{label}={value}" if value else f"no {label}"
    for attribute, label in (("secure", "Secure"), ("httponly", "HttpOnly")):
        shown[label] = label if morsel[attribute] else f"no {label}"
    return shown


def test_over_https_browsers_keep_and_send_it(impl):
    """Over HTTPS, the cookie is accepted and sent to the API."""
    problems = browser_problems(impl, https=True)
    assert f"{len(problems)} problems" == "0 problems", "the inspector: " + summary(problems)


def test_over_http_on_a_dev_machine_it_is_sent_back(impl):
    """Over plain HTTP (a staging host without TLS), the cookie comes back (no login loop)."""
    problems = browser_problems(impl, https=False)
    assert f"{len(problems)} problems" == "0 problems", "the inspector: " + summary(problems)


def test_named_with_the_host_prefix_over_https(impl):
    """Over HTTPS it is named __Host-session; over plain HTTP, session."""
    assert cookie(impl, https=True)["name"] == "__Host-session", (
        "the task asks for __Host-: browsers then insist on Secure, Path=/ and no Domain, so no "
        "subdomain can set or overwrite it"
    )
    assert cookie(impl, https=False)["name"] == "session", (
        "__Host- and __Secure- need Secure, which plain HTTP does not keep: name it session"
    )


def test_no_domain_attribute(impl):
    """The cookie names no Domain: it stays with the exact host that set it."""
    assert cookie(impl, https=True)["Domain"] == "no Domain", (
        "any Domain widens the cookie to subdomains; one for another site is rejected"
    )


def test_path_covers_the_whole_site(impl):
    """Path=/ so that the API's paths get it too."""
    assert cookie(impl, https=True)["Path"] == "Path=/", "the cookie goes only where its Path leads"


def test_hidden_from_scripts(impl):
    """HttpOnly, so that page scripts (and XSS) cannot read it."""
    for https in (True, False):
        assert cookie(impl, https)["HttpOnly"] == "HttpOnly", (
            "page scripts must not read a session ID"
        )


def test_not_sent_on_other_sites_posts(impl):
    """SameSite=Lax (or Strict), not None."""
    for https in (True, False):
        assert cookie(impl, https)["SameSite"] in ("SameSite=Lax", "SameSite=Strict"), (
            "SameSite=None sends it on other sites' requests too (CSRF)"
        )


def test_secure_only_over_https(impl):
    """Secure over HTTPS; not over plain HTTP, where (but on localhost) it would never come back."""
    assert cookie(impl, https=True)["Secure"] == "Secure", "over HTTPS, Secure keeps it off http://"
    assert cookie(impl, https=False)["Secure"] == "no Secure", (
        "browsers do not send a Secure cookie over http:// (but to localhost)"
    )
