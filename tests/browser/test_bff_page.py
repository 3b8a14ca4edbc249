"""Chapter 5's web app in a real browser: the BFF's promises, checked where they matter.

* logging in through the form leaves a cookie that the page's script cannot see (HttpOnly);
* no response the page receives contains an access token, yet its API call works through the
  proxy, and the lab's request log shows the bearer token only on the BFF-to-API hop;
* a page of another *site* (``localhost``, while the lab is ``127.0.0.1``) cannot make the
  browser send the session cookie with a form POST (SameSite), nor read an API answer with
  ``fetch`` (CORS);
* a page of the same site but another *origin* (``127.0.0.1`` on another port) does get the
  cookie sent with its form POST, and the BFF's CSRF check refuses it;
* after logout, the page's next call fails;
* with chapter 04's identity provider, the page signs in through the authorization code flow:
  the provider's login page, back to the BFF, and the orders API through the proxy.
"""

from __future__ import annotations

import pytest

from labserver import PASSWORDS, start_lab
from labserver.federation import federation_log
from labserver.server import ServerThread

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect


@pytest.fixture
def lab():
    with start_lab(redis_url="", replace=False) as lab:
        yield lab


@pytest.fixture
def page(browser, request):
    context = browser.new_context()
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    context.close()


def log_in(page, lab) -> None:
    page.goto(f"{lab.url}/bff/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORDS["alice"])
    page.click("button[type=submit]")
    expect(page.locator("#status")).to_have_text("Logged in as alice", timeout=15_000)


def test_the_page_works_without_ever_holding_a_token(page, lab):
    seen = []  # (url, headers, body) of every response the page receives, read as it arrives

    def keep(response):
        body = b"" if 300 <= response.status < 400 else response.body()  # a redirect has no body
        seen.append((response.url, response.all_headers(), body))

    page.on("response", keep)
    log_in(page, lab)

    assert page.evaluate("document.cookie") == "", "HttpOnly: the page's script sees no cookie"
    expect(page.locator("#cookies")).to_have_text('""')
    jar = {c["name"]: c for c in page.context.cookies()}
    assert jar["bff"]["httpOnly"] and jar["bff"]["sameSite"] == "Lax", (
        "the browser does hold the cookie"
    )

    with page.expect_response(lambda r: r.url.endswith("/bff/api/me")) as api_call:
        page.click("#call")
    expect(page.locator("#out")).to_contain_text('"sub": "alice"')
    answer = api_call.value
    seen.append((answer.url, answer.all_headers(), answer.body()))
    for url, headers, body in seen:
        assert b"eyJ" not in body and "eyJ" not in str(headers), (
            f"a token reached the page in {url}"
        )

    outer, inner = [r for r in lab.request_log.entries if r.path in ("/bff/api/me", "/api/me")][-2:]
    assert outer.credential.startswith("cookie bff=") and inner.credential.startswith("Bearer eyJ")

    page.click("#logout")
    expect(page.locator("#status")).to_have_text("Not logged in")
    page.click("#call")
    expect(page.locator("#out")).to_contain_text("401")


@pytest.fixture(
    params=["localhost", "127.0.0.1"], ids=["another site", "same site, another origin"]
)
def other_site(lab, request):
    """A page on http://<host>:<port>/ that tries a cross-origin fetch with the custom header,
    then a form POST to the lab's logout. ``localhost`` is another site than the lab's
    ``127.0.0.1``; ``127.0.0.1`` on another port is the same site, but another origin."""
    html = f"""<!doctype html><title>another site</title>
<form id="f" method="post" action="{lab.url}/bff/logout"><input name="x" value="1"></form>
<script>
fetch("{lab.url}/bff/api/me", {{credentials: "include", headers: {{"X-CSRF": "1"}}}})
  .then(r => r.text()).then(t => {{ document.title = "read: " + t; }})
  .catch(() => {{ document.title = "fetch blocked"; }})
  .finally(() => document.getElementById("f").submit());
</script>""".encode()

    def app(environ, start_response):
        start_response(
            "200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(html)))]
        )
        return [html]

    server = ServerThread(app)
    yield server.url.replace("127.0.0.1", request.param)
    server.stop()


def test_another_site_cannot_use_the_session(page, lab, other_site):
    log_in(page, lab)
    before = len(lab.request_log.entries)
    titles = []
    page.on(
        "framenavigated",
        lambda frame: titles.append(page.title()) if frame == page.main_frame else None,
    )
    with page.expect_navigation(url=f"{lab.url}/bff/logout", timeout=15_000):
        page.goto(other_site)
    arrived = lab.request_log.entries[before:]

    forged = [r for r in arrived if r.method == "POST" and r.path == "/bff/logout"]
    assert len(forged) == 1, "the forged form POST did reach the lab"
    if "localhost" in other_site:  # another site: SameSite=Lax keeps the cookie off
        assert "cookie" not in forged[0].credential, (
            "SameSite=Lax: the browser did not attach the cookie"
        )
        assert forged[0].status == 401, "without the cookie there is no session to log out"
    else:  # the same site: the cookie goes along, and the CSRF check is what refuses
        assert forged[0].credential.startswith("cookie bff="), (
            "same site: SameSite lets the cookie through"
        )
        assert forged[0].status == 403, "no X-CSRF: 1 and a foreign Origin: refused"

    api_reads = [r for r in arrived if r.method == "GET" and r.path == "/bff/api/me"]
    assert api_reads == [], "the cross-origin fetch never got past its CORS preflight"
    assert any(r.method == "OPTIONS" and r.path == "/bff/api/me" for r in arrived), (
        "the preflight was asked"
    )

    page.goto(f"{lab.url}/bff/")
    expect(page.locator("#status")).to_have_text("Logged in as alice")
    page.click("#call")
    expect(page.locator("#out")).to_contain_text('"sub": "alice"')


@pytest.fixture
def fed():
    with start_lab(redis_url="", replace=False, identity_provider=True) as lab:
        yield lab
        for system in (lab, lab.idp, lab.orders):
            assert system.crashes == []


def test_the_bff_signs_in_through_the_identity_providers_code_flow(page, fed):
    """Chromium opens the page, follows the link to the provider's login page, signs in and
    allows, lands back on the page logged in, and reads its orders through the BFF."""
    seen = []
    page.on(
        "response",
        lambda r: seen.append((r.url, r.all_headers(), b"" if 300 <= r.status < 400 else r.body())),
    )
    page.goto(f"{fed.url}/bff/")
    expect(page.locator("#status")).to_have_text("Not logged in", timeout=15_000)
    expect(page.locator("#login-form")).to_be_hidden()
    page.click("#sign-in")
    page.wait_for_url(f"{fed.idp.url}/oauth2/authorize?*", timeout=15_000)
    expect(page.locator("#scopes")).to_contain_text("orders:read")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORDS["alice"])
    page.click("button[value=allow]")
    page.wait_for_url(f"{fed.url}/bff/", timeout=15_000)
    expect(page.locator("#status")).to_have_text("Logged in as alice", timeout=15_000)
    assert page.evaluate("document.cookie") == "", "HttpOnly: the page's script sees no cookie"

    with page.expect_response(lambda r: r.url.endswith("/bff/api/orders")) as api_call:
        page.click("#call")
    expect(page.locator("#out")).to_contain_text('"client_id": "bff"')
    expect(page.locator("#out")).to_contain_text("A-1001")
    answer = api_call.value
    seen.append((answer.url, answer.all_headers(), answer.body()))
    for url, headers, body in seen:
        if url.startswith(fed.idp.url):
            continue  # the provider's own page (HTML, no token in it either)
        assert b"eyJ" not in body and "eyJ" not in str(headers), f"a token reached {url}"

    hops = [
        (e.service, e.method, e.path.split("?")[0])
        for e in federation_log(fed, fed.idp, fed.orders)
        if not e.path.startswith(("/bff/app.", "/bff/me", "/bff/login-options", "/favicon"))
    ]
    assert hops[:8] == [
        ("lab", "GET", "/bff/"),
        ("lab", "GET", "/bff/login"),
        ("idp", "GET", "/.well-known/openid-configuration"),
        ("idp", "GET", "/oauth2/authorize"),
        ("idp", "POST", "/oauth2/authorize"),
        ("lab", "GET", "/bff/callback"),
        ("idp", "POST", "/oauth2/token"),
        ("idp", "GET", "/.well-known/jwks.json"),
    ], hops
    browser_agent = next(e.agent for e in fed.idp.request_log.entries if e.method == "POST")
    token_call = next(e for e in fed.idp.request_log.entries if e.path == "/oauth2/token")
    assert browser_agent.startswith("Mozilla/") and token_call.agent == "bff", (
        "the browser signs in; the BFF alone redeems the code"
    )
    assert ("orders", "GET", "/orders") in hops

    page.click("#logout")
    expect(page.locator("#status")).to_have_text("Not logged in")
    assert fed.idp.request_log.entries[-1].path == "/oauth2/revoke"
