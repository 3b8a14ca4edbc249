"""start_lab(): a real server on loopback, started and stopped cleanly, quiet in notebooks."""

import socket
import threading
from urllib.parse import urlsplit

import pytest
import requests

from labserver import PASSWORDS, current_lab, start_lab
from labserver.app import StoreUnreachableAtStart


def _port_is_closed(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as s:
        return s.connect_ex((parts.hostname, parts.port)) != 0


def test_lab_serves_on_a_loopback_port(lab):
    parts = urlsplit(lab.url)
    assert parts.scheme == "http" and parts.hostname == "127.0.0.1" and parts.port > 0
    assert requests.get(lab.url + "/health", timeout=5).json() == {"status": "ok"}


def test_lab_http_joins_paths_to_the_lab_url(lab):
    assert lab.http.get("/health").json() == {"status": "ok"}
    assert lab.http.get("health").json() == {"status": "ok"}
    assert lab.http.get(lab.url + "/health").json() == {"status": "ok"}


def test_handle_exposes_store_and_clock_the_server_uses(lab):
    lab.store.set("lab:probe", "seen by the server")
    assert lab.app.extensions["lab"].store.get("lab:probe") == "seen by the server"
    assert lab.app.extensions["lab"].clock is lab.clock


def test_stop_closes_the_port_and_ends_every_thread():
    before = set(threading.enumerate())
    lab = start_lab(redis_url="")
    lab.http.get("/health")  # leaves a keep-alive connection open
    requests.get(lab.url + "/health", timeout=5)  # a second client
    lab.stop()
    assert not lab.running
    assert _port_is_closed(lab.url)
    assert set(threading.enumerate()) <= before


def test_restarting_stops_the_previous_lab_and_leaks_nothing():
    baseline = threading.active_count()
    first = start_lab(redis_url="")
    for _ in range(5):  # a learner re-running the start cell
        lab = start_lab(redis_url="")
        lab.http.get("/health")
    assert not first.running and _port_is_closed(first.url)
    assert current_lab() is lab and lab.running
    lab.stop()
    assert current_lab() is None
    assert threading.active_count() == baseline


def test_an_outage_refuses_connections_then_serves_again_on_the_same_port():
    lab = start_lab(replace=False)
    try:
        url = lab.url
        with lab.outage():
            with pytest.raises(requests.ConnectionError):
                lab.http.get("/health")
        assert lab.url == url and lab.http.get("/health").json() == {"status": "ok"}
    finally:
        lab.stop()
    assert not lab.running


def test_side_by_side_labs_with_replace_false():
    with start_lab(redis_url="", replace=False) as a, start_lab(redis_url="", replace=False) as b:
        assert a.url != b.url
        assert a.http.get("/health").ok and b.http.get("/health").ok
    assert not a.running and not b.running


def test_stop_is_idempotent(lab):
    lab.stop()
    lab.stop()
    assert not lab.running


def test_client_gives_a_separate_cookie_jar(lab):
    one, two = lab.client(), lab.client()
    one.cookies.set("probe", "1")
    assert "probe" not in two.cookies


def test_nothing_is_printed_while_serving(lab, capfd):
    lab.http.get("/health")
    lab.http.get("/no-such-route")
    lab.http.get("/whoami", auth=("alice", "wrong"))
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_request_log_records_method_path_status_and_credential(lab):
    lab.http.get("/health")
    lab.http.get("/whoami", auth=("alice", PASSWORDS["alice"]))
    lab.http.get("/whoami", headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"})
    lab.http.get("/health", cookies={"session": "0123456789abcdef"})
    rows = lab.request_log.last(4)
    assert [(r.method, r.path, r.status) for r in rows] == [
        ("GET", "/health", 200),
        ("GET", "/whoami", 200),
        ("GET", "/whoami", 401),
        ("GET", "/health", 200),
    ]
    assert [r.credential for r in rows] == [
        "-",
        "Basic alice",
        "Bearer eyJhbGci…",
        "cookie session=01234567…",
    ]
    assert [r.number for r in rows] == sorted(r.number for r in rows)
    table = lab.request_log.table(4)
    assert "Basic alice" in table and "status" in table.splitlines()[0]


def test_request_log_never_holds_a_whole_credential(lab):
    token = "x" * 40
    lab.http.get("/health", headers={"Authorization": f"Bearer {token}"})
    assert token not in lab.request_log.table()


def test_request_log_time_is_lab_time(lab):
    lab.clock.advance(3600)
    lab.http.get("/health")
    assert lab.request_log.last()[0].time == lab.clock.now()


def test_unreachable_redis_at_start_is_a_clear_error():
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        StoreUnreachableAtStart, match=f"redis://127.0.0.1:{port}/0.*unset REDIS_URL"
    ):
        start_lab(redis_url=f"redis://127.0.0.1:{port}/0", replace=False)


def test_unknown_config_key_is_refused_with_the_known_ones():
    with pytest.raises(KeyError, match="SERVICE_NAME"):
        start_lab({"SERVICE_NAM": "typo"}, redis_url="", replace=False)


def test_repr_says_where_and_what(lab):
    text = repr(lab)
    assert lab.url in text and "running" in text and "LabClock" in text
    lab.stop()
    assert "stopped" in repr(lab)


def test_https_lab_with_a_certificate_only_its_clients_trust():
    with start_lab(redis_url="", replace=False, https=True) as lab:
        assert lab.url.startswith("https://127.0.0.1:")
        assert lab.http.get("/health").json() == {"status": "ok"}  # verified, no warning
        assert lab.client().get("/health").ok
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(lab.url + "/health", timeout=5)  # default trust store: refused
