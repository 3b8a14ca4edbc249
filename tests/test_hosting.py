"""Links for the learner's browser on a laptop and behind a hub, and the lab behind a proxy's
prefix: cookie paths, the BFF's origin check, relative page URLs (labserver/hosting.py)."""

import re
from html.parser import HTMLParser
from importlib import resources

import pytest

from labserver import PASSWORDS
from labserver.hosting import BrowserLink, browser_url

HUB = {"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/"}
FORM = {"username": "alice", "password": PASSWORDS["alice"]}


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({}, "http://127.0.0.1:8000/bff/"),
        (HUB, "/user/alice/proxy/8000/bff/"),
        ({"JUPYTERHUB_SERVICE_PREFIX": "/user/alice"}, "/user/alice/proxy/8000/bff/"),
        (
            {**HUB, "LAB_BROWSER_LINK": "https://jupyter.example.org/proxy/{port}"},
            "https://jupyter.example.org/proxy/8000/bff/",
        ),
        (
            {"LAB_BROWSER_LINK": "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/", **HUB},
            "/user/alice/proxy/8000/bff/",
        ),
    ],
    ids=["laptop", "hub", "hub-prefix-without-slash", "template", "template-with-the-hub's"],
)
def test_a_link_for_the_browser_follows_the_environment(environ, expected):
    assert browser_url("http://127.0.0.1:8000", "/bff/", environ=environ) == expected


def test_a_laptop_link_keeps_the_labs_scheme():
    assert browser_url("https://127.0.0.1:8443", environ={}) == "https://127.0.0.1:8443/"


@pytest.mark.parametrize("template", ["{nope}", "{port", "{0}", "{port.real.x}"])
def test_a_bad_template_is_explained(template):
    with pytest.raises(ValueError, match="LAB_BROWSER_LINK=.*cannot be formatted"):
        browser_url("http://127.0.0.1:8000", environ={"LAB_BROWSER_LINK": template})


@pytest.mark.parametrize(
    "template",
    [
        "{port[0]}",  # TypeError from str.format, not ValueError
        "{HOME[x]}",
        "{port:>100000000}",  # a width: 100 MB of spaces (more: a MemoryError)
        "{port:{port}}",
        "{port.__class__}",  # attribute access: no link is made of an object's repr
        "{port!r}",
        "{HOME.__len__}",
    ],
)
def test_a_template_takes_names_only_and_says_so(template):
    environ = {"LAB_BROWSER_LINK": template, "HOME": "/root"}
    with pytest.raises(ValueError, match="LAB_BROWSER_LINK=.*cannot be formatted"):
        browser_url("http://127.0.0.1:8000", environ=environ)


def test_a_link_that_is_not_text_is_explained():
    environ = {
        "LAB_BROWSER_LINK": "/user/\udcff/proxy/{port}/"
    }  # a non-UTF-8 byte, as os.environ has it
    with pytest.raises(ValueError, match="LAB_BROWSER_LINK=.*not UTF-8"):
        browser_url("http://127.0.0.1:8000", environ=environ)


@pytest.mark.parametrize(
    "template", ["{port[0]}", "{port:>100000000}", "{port.__class__}", "\udcff{port}"]
)
def test_the_labs_repr_never_fails_on_a_template(lab, monkeypatch, template):
    monkeypatch.setenv("LAB_BROWSER_LINK", template)
    assert "cannot be formatted" in repr(lab)


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)//8000/",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,x",
    ],
)
def test_a_link_of_another_scheme_shows_as_text(link):
    html = BrowserLink(link)._repr_html_()
    assert "<a" not in html and "href" not in html, html


def test_a_link_shows_as_a_link_in_jupyterlab_and_as_text_elsewhere():
    link = BrowserLink('/user/a"b/proxy/1/')
    assert repr(link) == str(link) == '/user/a"b/proxy/1/'
    assert link._repr_html_() == (
        '<a href="/user/a&quot;b/proxy/1/" target="_blank">/user/a&quot;b/proxy/1/</a>'
    )


def test_the_lab_links_through_the_proxy_on_a_hub_and_says_so(lab, monkeypatch):
    monkeypatch.delenv("LAB_BROWSER_LINK", raising=False)
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    assert lab.link("/bff/") == lab.url + "/bff/"
    assert "in your browser" not in repr(lab)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    port = lab.url.rsplit(":", 1)[1]
    assert lab.link("/bff/") == f"/user/alice/proxy/{port}/bff/"
    assert f"in your browser: /user/alice/proxy/{port}/ " in repr(lab)
    monkeypatch.setenv("LAB_BROWSER_LINK", "{nope}")
    assert "LAB_BROWSER_LINK='{nope}' cannot be formatted" in repr(lab)


def prefix(lab) -> str:
    return "/user/alice/proxy/" + lab.url.rsplit(":", 1)[1]


def path_of(set_cookie: str) -> str:
    return re.search(r"Path=([^;]*)", set_cookie).group(1)


def cookie_of(response) -> dict[str, str]:
    """The response's cookie as a ``Cookie`` header: requests' jar, rightly, keeps a cookie of
    the proxy's path from the lab's own paths."""
    return {"Cookie": response.headers["Set-Cookie"].split(";", 1)[0]}


@pytest.mark.parametrize("login", ["/session/login", "/bff/login"])
def test_cookies_are_scoped_to_the_proxys_prefix_and_cleared_there(lab, login):
    direct = lab.client().post(login, json=FORM)
    assert path_of(direct.headers["Set-Cookie"]) == "/"
    proxied = {"X-Forwarded-Prefix": prefix(lab)}
    r = lab.client().post(login, json=FORM, headers=proxied)
    assert r.status_code == 200, r.text
    assert path_of(r.headers["Set-Cookie"]) == prefix(lab) + "/"
    logout = "/session/logout" if login == "/session/login" else "/bff/logout"
    csrf = {"X-CSRF": "1", "X-CSRF-Token": r.json().get("csrf_token", "")}
    cleared = lab.client().post(logout, headers={**proxied, **csrf, **cookie_of(r)})
    assert cleared.status_code == 200, cleared.text
    assert path_of(cleared.headers["Set-Cookie"]) == prefix(lab) + "/"
    assert "Max-Age=0" in cleared.headers["Set-Cookie"]


@pytest.mark.parametrize(
    "value",
    ["/a;Domain=evil.example", "/a,b", '/a"b', "/a b", "/é", "//", "a/b", "/" + "a" * 600],
)
def test_an_odd_prefix_is_refused_with_its_rule(lab, value):
    headers = {"X-Forwarded-Prefix": value.encode().decode("latin-1")}
    r = lab.client().post("/session/login", json=FORM, headers=headers)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert "X-Forwarded-Prefix must be a path" in r.json()["error_description"]


def proxied_login(lab, origin: str, host: str = "hub.example.org", **extra: str):
    headers = {"Host": host, "Origin": origin, **extra}
    return lab.client().post("/bff/login", data=FORM, headers=headers, allow_redirects=False)


def test_through_the_proxy_the_bff_takes_the_origin_the_browser_used(lab):
    through = {"X-Forwarded-Prefix": prefix(lab)}
    https = {**through, "X-Forwarded-Proto": "https"}
    assert proxied_login(lab, "http://hub.example.org", **through).status_code == 303
    assert proxied_login(lab, "https://hub.example.org", **https).status_code == 303
    assert proxied_login(lab, "http://127.0.0.1:9", **through).status_code == 403
    assert proxied_login(lab, "https://hub.example.org", **through).status_code == 303
    http_only = {**through, "X-Forwarded-Proto": "http"}
    assert proxied_login(lab, "https://hub.example.org", **http_only).status_code == 403
    # Without X-Forwarded-Proto the scheme is unknown: both are taken (above). Without the
    # proxy's prefix the Host is not trusted: the lab's own address is the origin.
    assert proxied_login(lab, "http://hub.example.org").status_code == 403


def test_through_the_proxy_the_bffs_csrf_check_takes_the_browsers_origin(lab):
    through = {"X-Forwarded-Prefix": prefix(lab), "Host": "hub.example.org"}
    login = lab.client().post("/bff/login", json=FORM, headers=through)
    call = {**through, **cookie_of(login), "X-CSRF": "1", "Sec-Fetch-Site": "same-origin"}
    other = lab.client().get("/bff/me", headers={**call, "Origin": "http://evil.example"})
    assert other.status_code == 403, other.text
    me = lab.client().get("/bff/me", headers={**call, "Origin": "http://hub.example.org"})
    assert me.status_code == 200 and me.json()["username"] == "alice"


class _Urls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("href", "src", "action") and v]


@pytest.mark.parametrize(
    "page, script, call", [("bff", "bff", "relative("), ("spa", "spa", "ROOT + ")]
)
def test_the_pages_use_only_relative_urls_so_a_proxys_prefix_is_kept(page, script, call):
    web = resources.files("labserver").joinpath("web")
    parser = _Urls()
    parser.feed(web.joinpath(f"{page}.html").read_text())
    assert parser.urls, f"no URL found in {page}.html: the parser is broken"
    assert [u for u in parser.urls if u.startswith("/") or "//" in u] == []
    calls = re.findall(r"fetch\(([^,)]*)", web.joinpath(f"{script}.js").read_text())
    assert calls and all(c.startswith(call) for c in calls), calls


def test_notebooks_are_executed_with_a_laptops_links_and_the_courses_store_and_seed(
    tmp_path, monkeypatch
):
    """`make notebooks` on a hub (or with a Redis or a class's seed) must save what strict nbval
    compares against on a laptop."""
    import nbformat

    from labserver.jupyter import KERNEL_UNSET, execute_notebooks

    for name in KERNEL_UNSET:
        monkeypatch.setenv(name, "/user/alice/" if name.startswith("JUPYTERHUB") else "x")
    path = tmp_path / "environ.ipynb"
    code = f"import os; print([os.environ.get(n) for n in {KERNEL_UNSET!r}])"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), path)
    execute_notebooks([path])
    (output,) = nbformat.read(path, as_version=4).cells[0].outputs
    assert output["text"].strip() == str([None] * len(KERNEL_UNSET))
    assert {"REDIS_URL", "LAB_CAPSTONE_SEED", "JUPYTERHUB_SERVICE_PREFIX"} <= set(KERNEL_UNSET)


def test_through_the_proxy_over_https_the_cookie_is_secure_and_named_for_it(lab):
    """The front proxy's X-Forwarded-Proto decides both, as one rule (hosting.over_https)."""
    https = {"X-Forwarded-Prefix": prefix(lab), "X-Forwarded-Proto": "https"}
    for login, name in (("/session/login", "session"), ("/bff/login", "bff")):
        r = lab.client().post(login, json=FORM, headers=https)
        assert r.headers["Set-Cookie"].startswith(f"__Secure-{name}="), r.headers["Set-Cookie"]
        assert "; Secure" in r.headers["Set-Cookie"]
        me = "/session/me" if name == "session" else "/bff/me"
        back = lab.client().get(me, headers={**https, **cookie_of(r), "X-CSRF": "1"})
        assert back.status_code == 200, back.text
        plain = {**https, "X-Forwarded-Proto": "http"}
        cookie = lab.client().post(login, json=FORM, headers=plain).headers["Set-Cookie"]
        assert cookie.startswith(f"{name}=") and "Secure" not in cookie
    no_prefix = {"X-Forwarded-Proto": "https"}  # no proxy the lab knows of: its own scheme
    cookie = lab.client().post("/session/login", json=FORM, headers=no_prefix)
    assert "Secure" not in cookie.headers["Set-Cookie"]


@pytest.mark.parametrize("login", ["/session/login", "/bff/login"])
def test_over_https_under_a_prefix_the_cookie_is_one_browsers_keep(lab, login):
    """``__Host-`` requires ``Path=/``, which a cookie scoped to the prefix cannot have: browsers
    would drop it, and the login would seem to work but leave no cookie. ``__Secure-`` keeps
    the prefix's Path and still requires Secure."""
    from labserver.tools.cookies import inspect

    client = lab.app.test_client(use_cookies=False)
    https = {"base_url": "https://127.0.0.1", "headers": {"X-Forwarded-Prefix": prefix(lab)}}
    r = client.post(login, json=FORM, **https)
    assert r.status_code == 200, r.text
    report = inspect(r.headers["Set-Cookie"], url="https://127.0.0.1" + prefix(lab) + login)
    assert report.problems == [] and report.name.startswith("__Secure-"), report.problems
    # Read back and cleared under the same name.
    me = "/session/me" if login == "/session/login" else "/bff/me"
    call = {"Cookie": r.headers["Set-Cookie"].split(";", 1)[0], "X-CSRF": "1"}
    assert (
        client.get(me, base_url=https["base_url"], headers={**https["headers"], **call}).status_code
        == 200
    )
    plain = client.post(login, json=FORM, base_url="https://127.0.0.1")
    assert plain.headers["Set-Cookie"].startswith("__Host-")  # no prefix: the stricter name


def test_the_bffs_sign_in_cookie_under_a_prefix_is_one_browsers_keep(lab):
    from labserver.chapters.bff import _login_cookie_name

    with lab.app.test_request_context(
        "/bff/login",
        base_url="https://127.0.0.1",
        headers={"X-Forwarded-Prefix": "/user/a/proxy/1"},
    ):
        from flask import request

        assert _login_cookie_name(request) == "__Secure-bff-login"


@pytest.mark.parametrize("path, to", [("/bff", "/bff/"), ("/bff//me", "/bff/me")])
def test_werkzeugs_own_redirects_are_paths_so_a_proxys_prefix_is_kept(lab, path, to):
    """jupyter-server-proxy rewrites an absolute-path Location to keep its prefix, and leaves a
    full URL alone: werkzeug names the Host in full (the hub's, through the proxy)."""
    through = {"X-Forwarded-Prefix": prefix(lab), "Host": "hub.example.org"}
    r = lab.client().get(path, headers=through, allow_redirects=False)
    assert 300 <= r.status_code < 400 and r.headers["Location"] == to, r.headers.get("Location")
    assert r.json() == {"redirect_to": to}
