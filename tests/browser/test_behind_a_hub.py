"""The BFF page behind a hub: JupyterLab at ``/user/alice/`` with jupyter-server-proxy, as on
JupyterHub or Binder, and the lab reached in Chromium only through ``/user/alice/proxy/PORT/``.

The lab runs in this test process (``start_lab()``); JupyterLab runs as a subprocess on another
loopback port with the hub's base URL and environment variables, throwaway Jupyter folders and an
empty root folder (nothing of the learner's Jupyter settings or of the course's notebooks is read
or written). The tests check that

* the proxy wants Jupyter's login, and every request it forwards carries ``X-Forwarded-Prefix``;
* through the proxy, the page's login form and its "Call the API through the BFF" button work;
* the ``bff`` cookie is scoped to the prefix: the browser would not send it to another user's
  server on the same host (``/user/bob/...``), and a lab that sets ``Path=/`` fails that check.

Skipped without Chromium, unless ``LAB_REQUIRE_BROWSER=1`` (CI sets it).
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest
import requests

from labserver import PASSWORDS, start_lab
from labserver.jupyter import jupyter_env, lab_command

from .conftest import ARTIFACTS, rewriting_headers
from .jupyter_folders import free_port, throwaway_folders

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

PREFIX = "/user/alice/"
#: How long JupyterLab may take to answer /api/status (it took 2 to 5 s on 2 busy cores).
START_TIMEOUT = 20.0


def hub_environment(home: Path, port: int) -> dict[str, str]:
    """The environment of a single-user server that JupyterHub spawned for alice (no real hub:
    nothing listens at the API URL), with Jupyter's own folders under ``home``."""
    env = jupyter_env()
    env.update(throwaway_folders(home))
    for name in [n for n in env if n.startswith("JUPYTERHUB_")]:
        del env[name]  # none of this machine's own, if it runs under a hub itself
    env.update(
        JUPYTERHUB_USER="alice",
        JUPYTERHUB_SERVICE_PREFIX=PREFIX,
        JUPYTERHUB_BASE_URL="/",
        JUPYTERHUB_API_URL=f"http://127.0.0.1:{free_port()}/hub/api",
        JUPYTERHUB_SERVICE_URL=f"http://127.0.0.1:{port}{PREFIX}",
        JUPYTERHUB_PUBLIC_URL=f"http://127.0.0.1:{port}{PREFIX}",
    )
    env.pop("REDIS_URL", None)
    return env


class HubJupyterLab:
    """JupyterLab on a free loopback port under ``PREFIX``, as a hub's single-user server."""

    def __init__(self, home: Path) -> None:
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}{PREFIX}"  # ends with "/"
        root = home / "root"
        root.mkdir()
        # The course's own command (loopback, no network calls), as a hub's server for alice,
        # in a folder of its own.
        course = lab_command(port=self.port, token=self.token, browser=False)
        command = [arg for arg in course if not arg.startswith("--ServerApp.root_dir=")]
        command += [f"--ServerApp.base_url={PREFIX}", f"--ServerApp.root_dir={root}"]
        self.runtime_dir = home / "jupyter_runtime_dir"  # kernels' connection files
        self.log_path = home / "jupyterlab.log"
        self.log = open(self.log_path, "w")
        started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            cwd=root,
            env=hub_environment(home, self.port),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while time.monotonic() - started < START_TIMEOUT and self.process.poll() is None:
            try:
                status = requests.get(
                    self.url + "api/status",
                    headers={"Authorization": f"token {self.token}"},
                    timeout=2,
                )
                if status.ok:
                    self.start_seconds = time.monotonic() - started
                    print(f"JupyterLab answered after {self.start_seconds:.1f} s")
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"JupyterLab did not answer within {START_TIMEOUT:.0f} s:\n" + self.log_path.read_text()
        )

    def stop(self) -> list[str]:
        """Stop JupyterLab and everything it started (kernels run in process groups of their
        own); return what was still alive after JupyterLab's own shutdown and had to be killed."""
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # it shuts its kernels down itself
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        _, alive = psutil.wait_procs(children, timeout=5)
        survivors = []
        for child in alive:
            try:
                if child.status() != psutil.STATUS_ZOMBIE:
                    survivors.append(" ".join(child.cmdline()))
                    child.kill()
            except psutil.NoSuchProcess:
                pass
        self.log.close()
        print(f"stopped JupyterLab and its {len(children)} child processes; killed {survivors}")
        return survivors


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    server = HubJupyterLab(tmp_path_factory.mktemp("hub-jupyterlab"))
    try:
        yield server
    finally:
        survivors = server.stop()
        print("JupyterLab log, last lines:\n" + server.log_path.read_text()[-3000:])
    assert survivors == [], f"outlived JupyterLab: {survivors}"


@pytest.fixture
def lab():
    """The lab, with what each request that reached it said in ``X-Forwarded-Prefix``."""
    with start_lab(redis_url="", replace=False) as lab:
        lab.forwarded = []
        wsgi_app = lab.app.wsgi_app

        def recording(environ, start_response):
            lab.forwarded.append(
                (environ["PATH_INFO"], environ.get("HTTP_X_FORWARDED_PREFIX", "(none)"))
            )
            return wsgi_app(environ, start_response)

        lab.app.wsgi_app = recording
        yield lab
        lab.app.wsgi_app = wsgi_app
        assert lab.crashes == []


@pytest.fixture
def page(browser, jupyterlab, request):
    """A fresh browser context, logged in to Jupyter with the token URL (Jupyter's login cookie
    then rides along with every request under ``PREFIX``)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{jupyterlab.url}api/status?token={jupyterlab.token}")
    assert any(c["path"] == PREFIX for c in context.cookies()), "logged in to Jupyter"
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    context.close()


def proxied(jupyterlab, lab, monkeypatch) -> str:
    """The lab's root as the learner's browser reaches it: the course's own link for it
    (``lab.link()``) in the hub's environment, ``{prefix}proxy/{port}/``, on Jupyter's origin."""
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", PREFIX)
    monkeypatch.delenv("LAB_BROWSER_LINK", raising=False)
    link = lab.link("/")
    assert link == f"{PREFIX}proxy/{urlsplit(lab.url).port}/"
    return f"http://127.0.0.1:{jupyterlab.port}{link}"


def cookies_sent(page, url: str) -> str:
    """The ``Cookie`` header Chromium sends with a request for ``url`` (the page navigates
    there; under another user's prefix Jupyter answers 404, and that does not matter)."""
    with page.expect_request(url) as sent:
        page.goto(url)
    return sent.value.all_headers().get("cookie", "")


def log_in_and_call_the_api(page, root: str) -> None:
    page.goto(root + "bff/")
    expect(page.locator("#status")).to_have_text("Not logged in", timeout=15_000)
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORDS["alice"])
    page.click("button[type=submit]")
    expect(page.locator("#status")).to_have_text("Logged in as alice", timeout=15_000)
    page.get_by_role("button", name="Call the API through the BFF").click()
    expect(page.locator("#out")).to_contain_text('"sub": "alice"')
    expect(page.locator("#out")).to_have_text(re.compile(r"^200\s"))


def test_the_proxy_wants_jupyters_login(jupyterlab, lab, monkeypatch):
    root = proxied(jupyterlab, lab, monkeypatch)
    anonymous = requests.get(root + "bff/", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith(f"{PREFIX}login?next=")
    assert lab.forwarded == [], "nothing reached the lab without Jupyter's login"

    with_token = requests.get(
        root + "bff/", headers={"Authorization": f"token {jupyterlab.token}"}, timeout=10
    )
    assert with_token.status_code == 200
    assert lab.forwarded == [("/bff/", f"{PREFIX}proxy/{urlsplit(lab.url).port}")], (
        "the proxy strips the prefix and says what it was in X-Forwarded-Prefix"
    )


def test_the_bff_page_works_through_the_proxy(page, jupyterlab, lab, monkeypatch):
    root = proxied(jupyterlab, lab, monkeypatch)
    log_in_and_call_the_api(page, root)

    port = urlsplit(lab.url).port
    prefix = f"{PREFIX}proxy/{port}"
    print("path, X-Forwarded-Prefix of each request the lab answered:", lab.forwarded)
    browsers = [(path, p) for path, p in lab.forwarded if path.startswith("/bff/")]
    assert {p for _, p in browsers} == {prefix}, "each of the browser's requests came by the proxy"
    assert ("/bff/login", prefix) in browsers and ("/bff/api/me", prefix) in browsers
    assert ("/api/me", "(none)") in lab.forwarded, "the BFF calls the API on loopback, unproxied"

    # Through the proxy the page has JupyterLab's origin: its script sees Jupyter's _xsrf.
    page.goto(f"{jupyterlab.url}lab", wait_until="commit")  # JupyterLab's page sets its _xsrf
    page.goto(root + "bff/")
    expect(page.locator("#cookies")).to_contain_text("_xsrf")
    expect(page.locator("#cookie-note")).to_contain_text("this page has JupyterLab's own origin")

    (bff,) = [c for c in page.context.cookies() if c["name"] == "bff"]
    assert bff["path"] == prefix + "/", "scoped to this learner's lab, not the whole host"
    assert bff["httpOnly"]
    host = f"http://127.0.0.1:{jupyterlab.port}"
    assert "bff=" in cookies_sent(page, f"{root}bff/me")
    assert "bff=" not in cookies_sent(page, f"{host}/user/bob/proxy/{port}/bff/me"), (
        "another user's server on the same host never gets alice's cookie"
    )


def _cookie_path_slash(environ, headers):
    """A lab that sets its cookies as Flask does by default: ``Path=/``."""
    return [
        (name, re.sub(r"(?i); *Path=[^;]*", "", value) + "; Path=/")
        if name.lower() == "set-cookie"
        else (name, value)
        for name, value in headers
    ]


def test_a_path_slash_cookie_would_reach_every_users_server(page, jupyterlab, lab, monkeypatch):
    """Mutation: with ``Path=/`` the page still works, but the browser would send the cookie to
    ``/user/bob/`` too: the check above can fail."""
    lab.app.wsgi_app = rewriting_headers(lab.app.wsgi_app, _cookie_path_slash)
    log_in_and_call_the_api(page, proxied(jupyterlab, lab, monkeypatch))
    (bff,) = [c for c in page.context.cookies() if c["name"] == "bff"]
    assert bff["path"] == "/"
    host, port = f"http://127.0.0.1:{jupyterlab.port}", urlsplit(lab.url).port
    assert "bff=" in cookies_sent(page, f"{host}/user/bob/proxy/{port}/bff/me")


KERNEL_CODE = """
import os
from labserver import start_lab
lab = start_lab(redis_url="")
print(os.environ["JUPYTERHUB_SERVICE_PREFIX"], lab.link("/bff/"))
"""


def test_the_link_a_kernel_prints_on_the_hub_opens_the_page(page, jupyterlab):
    """A kernel of that JupyterLab (it inherits the hub's variables) starts a lab and prints its
    link for the learner's browser; Chromium opens it, logs in and calls the API. The kernel is
    stopped with JupyterLab (the fixture checks that nothing outlives it)."""
    from jupyter_client import BlockingKernelClient

    started = requests.post(
        jupyterlab.url + "api/kernels",
        json={"name": "python3"},
        headers={"Authorization": f"token {jupyterlab.token}"},
        timeout=30,
    )
    assert started.status_code == 201, started.text
    client = BlockingKernelClient(
        connection_file=str(jupyterlab.runtime_dir / f"kernel-{started.json()['id']}.json")
    )
    client.load_connection_file()
    client.start_channels()
    printed = []
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(
            KERNEL_CODE,
            timeout=60,
            output_hook=lambda msg: printed.append(msg["content"].get("text", "")),
        )
    finally:
        client.stop_channels()
    assert reply["content"]["status"] == "ok", reply["content"]
    prefix, link = "".join(printed).split()
    assert prefix == PREFIX
    assert re.fullmatch(rf"{PREFIX}proxy/\d+/bff/", link), link
    log_in_and_call_the_api(page, f"http://127.0.0.1:{jupyterlab.port}{link.removesuffix('bff/')}")
