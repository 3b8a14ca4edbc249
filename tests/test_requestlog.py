"""The request log records every request, whatever its Cookie header holds."""

from __future__ import annotations

import pytest

from labserver import create_app


@pytest.fixture
def app_and_log():
    app = create_app({"SEED_DEMO_USERS": False})
    return app.test_client(use_cookies=False), app.extensions["lab"].request_log


@pytest.mark.parametrize(
    "cookie",
    [
        "a=\xff; b=1",  # the byte 0xff: no UTF-8 text holds it
        "\xc3=\xed\xa0\x80; b=1",  # a cut-off character; a UTF-8-encoded lone surrogate
        "b=1; " + "x" * 20_000 + "=\x00",
    ],
    ids=["0xff", "broken-utf-8", "huge"],
)
def test_a_request_with_a_cookie_header_that_is_not_utf8_is_still_logged(app_and_log, cookie):
    client, log = app_and_log
    assert client.get("/health", headers={"Cookie": cookie}).status_code == 200
    assert len(log.entries) == 1, "the request is in the log"
    assert "b" in log.entries[0].cookies


def test_the_log_keeps_every_cookie_a_request_carried_even_two_of_one_name(app_and_log):
    """A browser sends two cookies of one name when their Path or Domain differ (the classic
    shadowed cookie); the log must show both, as the credential column does."""
    client, log = app_and_log
    client.get("/health", headers={"Cookie": "session=a; x=1; session=b"})
    assert log.entries[0].cookies == ("session", "x", "session")


def test_full_urls_are_kept_under_a_path_not_under_a_longer_name():
    """A prefix keeps /api/orders and /api/orders/1 whole, not /api/ordersX (a path, not a name)."""
    from labserver.requestlog import RequestLog

    log = RequestLog(lambda: 0.0)
    log.keep_full_urls_under("/api/orders")
    for path in ("/api/orders", "/api/orders/1", "/api/ordersX", "/api"):
        log.record({"PATH_INFO": path, "QUERY_STRING": "access_token=abcdefghijkl"}, 200)
    assert [e.path.split("=")[1] for e in log.entries] == [
        "abcdefghijkl",
        "abcdefghijkl",
        "abcdefgh…",
        "abcdefgh…",
    ]
