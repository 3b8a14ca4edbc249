"""Chapter 7's benchmark: its structure (never its speed: timing asserts would be flaky)."""

import pytest


def test_paired_rounds_give_the_baseline_a_ratio_of_one_and_keep_order():
    from labserver.experiments.costs import paired

    calls = []
    timings = paired({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, "a", rounds=3, calls=2)
    assert [t.name for t in timings] == ["a", "b"]
    assert timings[0].ratio == timings[0].ratio_low == timings[0].ratio_high == 1.0
    assert calls[:2] == ["a", "b"]  # warm-up, then interleaved rounds
    assert calls[2:] == (["a"] * 2 + ["b"] * 2) * 3
    assert all(t.low <= t.median <= t.high and t.ratio_low <= t.ratio <= t.ratio_high for t in timings)


def test_crypto_has_pyjwt_next_to_the_floor_for_every_algorithm():
    from labserver.experiments.costs import crypto

    tables = crypto(rounds=1, calls=2)
    assert list(tables) == ["HS256", "RS256", "ES256", "EdDSA"]
    for rows in tables.values():
        assert [r.name for r in rows] == ["floor: sign (raw)", "PyJWT: encode", "floor: verify (raw)",
                                          "PyJWT: decode (verify + claims)"]


def test_credential_checks_put_a_session_lookup_next_to_each_algorithm(redis_url):
    from labserver.experiments.costs import credential_checks

    rows = credential_checks(redis_url, rounds=1, calls=2)
    names = [r.name for r in rows]
    assert names[0] == "session: HGETALL, embedded store" and rows[0].ratio == 1.0
    assert ("session: HGETALL, real Redis" in names) == bool(redis_url)
    assert [n for n in names if n.startswith("JWT")] == [f"JWT: PyJWT decode {a}" for a in ("HS256", "RS256", "ES256", "EdDSA")]


def test_store_lookups_single_and_pipelined(redis_url):
    from labserver.experiments.costs import store

    names = [t.name for t in store(redis_url, rounds=1, calls=1, batch=3)]
    expected = ["embedded: HGETALL", "embedded: HGETALL, pipelined by 3"]
    if redis_url:
        expected += ["real Redis: HGETALL", "real Redis: HGETALL, pipelined by 3"]
    assert names == expected


def test_http_rows_and_sizes(lab):
    from labserver.experiments.costs import http, sizes

    rows = http(lab, rounds=1, calls=1)
    assert [r.name for r in rows][1:] == ["GET /session/me (cookie, store)", "GET /api/me (JWT, no store)",
                                          "GET /api/me/deny-checked (JWT + 1 read)"]
    statuses = [e.status for e in lab.request_log.entries if e.path in ("/session/me", "/api/me", "/api/me/deny-checked")]
    assert statuses and set(statuses) == {200}, "every benchmarked request must succeed, or it measures errors"
    size = sizes(lab)
    assert size["session cookie"] < size["JWT HS256"] < size["JWT ES256"] < size["JWT RS256"]


@pytest.mark.parametrize("quick", [True])
def test_the_report_has_every_section(lab, quick):
    from labserver.experiments.costs import report

    text = report(quick=quick, lab=lab)
    for heading in ("checking one credential", "HS256: sign and verify", "session lookup",
                    "one HTTP request over loopback", "credential bytes"):
        assert heading in text
