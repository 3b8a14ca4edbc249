"""Chapter 08's cookie scoping, asserted in Chromium: which cookies it keeps over plain http on
127.0.0.1, on localhost and off loopback, why it refuses the others, where it sends them, and
that a cookie of another port shows up on the lab's page."""

from __future__ import annotations

import pytest

from labserver.browser.scoping import (
    ARRIVED,
    HOSTS,
    INSIDE,
    NOT_LOOPBACK,
    XSRF,
    cookie_scoping,
    cookies_per_host,
)
from labserver.chapters.browser_pages import MAX_COOKIE_BYTES
from labserver.tools.cookies import inspect

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api")

BOTH = (ARRIVED, INSIDE)


@pytest.fixture(scope="module")
def scoping(lab):
    return cookie_scoping(lab.browser())


@pytest.fixture(scope="module")
def per_host(lab):
    return cookies_per_host(lab.browser())


def outcome(scoping, name, host):
    return scoping.row(name).on[host]


def test_both_loopback_names_are_secure_contexts_and_another_host_is_not(scoping):
    assert scoping.secure_context == {"127.0.0.1": True, "localhost": True, NOT_LOOPBACK: False}


@pytest.mark.parametrize("name", ["secure", "__Secure-prefixed", "__Host-prefixed"])
def test_secure_and_prefixed_cookies_work_over_plain_http_on_loopback_only(scoping, name):
    for host in HOSTS:
        assert outcome(scoping, name, host).stored, (name, host)
        assert outcome(scoping, name, host).sent_to == BOTH, (name, host)
    off = outcome(scoping, name, NOT_LOOPBACK)
    assert not off.stored and not off.sent_to
    assert off.refused_because == (("SecureOnly",) if name == "secure" else ("InvalidPrefix",))


def test_a_host_prefix_cookie_without_secure_is_refused_everywhere(scoping):
    for host in (*HOSTS, NOT_LOOPBACK):
        assert not outcome(scoping, "__Host-no-secure", host).stored
        assert "InvalidPrefix" in outcome(scoping, "__Host-no-secure", host).refused_because


def test_a_host_prefix_cookie_may_name_its_ip_address_but_not_localhost(scoping):
    on_ip = outcome(scoping, "__Host-with-domain", "127.0.0.1")
    assert on_ip.stored and on_ip.host_only and on_ip.sent_to == BOTH
    assert outcome(scoping, "__Host-with-domain", "localhost").refused_because == (
        "InvalidDomain",
        "InvalidPrefix",
    )
    # Domain=localhost, set by localhost, matches its host; the prefix alone refuses it.
    assert outcome(scoping, "__Host-localhost", "localhost").refused_because == ("InvalidPrefix",)


def test_path_scopes_where_a_cookie_is_sent(scoping):
    for host in HOSTS:
        assert outcome(scoping, "inside", host).stored
        assert outcome(scoping, "inside", host).sent_to == (INSIDE,)
        assert outcome(scoping, "small", host).sent_to == BOTH


def test_a_domain_of_another_host_is_refused_and_its_own_is_host_only(scoping):
    refused = outcome(scoping, "other_domain", "127.0.0.1")
    assert not refused.stored and refused.refused_because == ("InvalidDomain",)
    kept = outcome(scoping, "other_domain", "localhost")
    assert kept.stored and kept.host_only and kept.sent_to == BOTH


def test_a_cookie_over_4096_bytes_is_dropped_silently_and_4096_are_kept(scoping):
    for host in HOSTS:
        big = outcome(scoping, "big", host)
        assert not big.stored and big.refused_because == ("NameValuePairExceedsMaxSize",)
        assert outcome(scoping, "fits", host).stored
        assert scoping.status[host] == 200  # the response says nothing of it
    (fits,) = [c for c in scoping.stored["127.0.0.1"] if c.name == "fits"]
    assert fits.size == MAX_COOKIE_BYTES


def test_each_host_keeps_its_own_cookies(scoping):
    names = {host: {c.name for c in scoping.stored[host]} for host in HOSTS}
    assert "__Host-with-domain" in names["127.0.0.1"] - names["localhost"]
    assert "other_domain" in names["localhost"] - names["127.0.0.1"]
    assert all(c.domain.lstrip(".") == host for host in HOSTS for c in scoping.stored[host])


def test_the_inspector_agrees_with_chromium_on_every_scoping_cookie(scoping):
    for row in scoping.rows:
        for host in (*HOSTS, NOT_LOOPBACK):
            report = inspect(row.line, url=f"http://{host}:8000/browser/scope/set")
            assert report.ok == row.on[host].stored, (row.name, host, report.problems)


def test_the_table_names_no_port(scoping, lab):
    text = str(scoping)
    assert str(lab.url.rsplit(":", 1)[1]) not in text
    assert "refused: NameValuePairExceedsMaxSize" in text and "app.example.test: no" in text


def test_a_cookie_of_another_port_shows_on_the_labs_page(per_host):
    assert per_host.stored.name == XSRF and per_host.set_by_other_port
    assert not per_host.stored.http_only and per_host.stored.domain == "127.0.0.1"
    on_ip, on_localhost = per_host.views
    assert on_ip.document_cookie_names == (XSRF,) and on_ip.request_carried == (XSRF,)
    assert "_xsrf belongs to 127.0.0.1" in on_ip.page_says
    assert on_localhost.document_cookie_names == () and on_localhost.request_carried == ()
    assert on_localhost.page_says.startswith("No cookie is visible to this script")
    assert ":<lab port>" in str(per_host) and ":<other port>" in str(per_host)
