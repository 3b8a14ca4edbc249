"""Chapter 7's benchmark: its structure (never its speed: timing asserts would be flaky)."""


def test_paired_rounds_give_the_baseline_a_ratio_of_one_and_keep_order():
    from labserver.experiments.costs import paired

    import gc

    calls = []
    seen_gc = []
    ops = {"a": lambda: calls.append("a") or seen_gc.append(gc.isenabled()), "b": lambda: calls.append("b"),
           "c": lambda: calls.append("c")}
    timings = paired(ops, "a", rounds=4, calls=2, min_block=0)
    assert [t.name for t in timings] == ["a", "b", "c"]
    assert timings[0].ratio == timings[0].ratio_low == timings[0].ratio_high == 1.0
    assert calls[:9] == ["a"] * 3 + ["b"] * 3 + ["c"] * 3  # warm-up: at least 3 calls each
    rounds = [calls[9 + 6 * r: 15 + 6 * r] for r in range(4)]
    assert all(sorted(r) == ["a", "a", "b", "b", "c", "c"] for r in rounds)  # every op, each round
    assert all(r[0] == r[1] and r[2] == r[3] and r[4] == r[5] for r in rounds)  # in blocks
    assert len({tuple(r[::2]) for r in rounds}) > 1, "the order changes from round to round"
    assert seen_gc[3:] == [False] * 8 and gc.isenabled(), "GC off while timing, back on after"
    assert all(t.low <= t.median <= t.high and t.ratio_low <= t.ratio <= t.ratio_high for t in timings)


def test_blocks_are_sized_to_last_long_enough():
    from labserver.experiments.costs import paired

    counts = {"fast": 0}

    def fast():
        counts["fast"] += 1

    paired({"fast": fast}, "fast", rounds=2, min_block=0.005)
    assert counts["fast"] > 100, "a fast operation is repeated until a block lasts min_block"


def test_crypto_has_pyjwt_next_to_the_floor_for_every_algorithm():
    from labserver.experiments.costs import crypto

    tables = crypto(rounds=1, min_block=0.0005)
    assert list(tables) == ["HS256", "RS256", "ES256", "EdDSA"]
    for rows in tables.values():
        assert [r.name for r in rows] == ["floor: sign (raw)", "PyJWT: encode", "floor: verify (raw)",
                                          "PyJWT: decode (signature + claims)"]


def test_credential_checks_put_a_session_lookup_next_to_each_algorithm(redis_url):
    from labserver.experiments.costs import credential_checks

    rows = credential_checks(redis_url, rounds=1, min_block=0.0005)
    names = [r.name for r in rows]
    assert names[0] == "session: the lab's check (2 round trips)" and rows[0].ratio == 1.0
    assert ("session: the lab's check, real Redis" in names) == bool(redis_url)
    assert [n for n in names if n.startswith("JWT")] == [f"JWT {a}: the lab's verifier"
                                                         for a in ("HS256", "RS256", "ES256", "EdDSA")]


def test_the_session_check_makes_the_lab_s_two_round_trips(store, clock):
    from labserver.experiments.costs import lab_session_check
    from labserver.session_records import create_session
    from labserver.store import count_round_trips, counting_round_trips
    from labserver.users import seed_demo_users

    seed_demo_users(store)
    session_id = create_session(store, clock, "alice", ttl=600)
    count_round_trips(store)
    with counting_round_trips() as trips:
        user = lab_session_check(store, clock, session_id)
    assert trips[0] == 2 and user["roles"]


def test_store_lookups_single_and_pipelined(redis_url):
    from labserver.experiments.costs import store

    names = [t.name for t in store(redis_url, rounds=1, batch=3, min_block=0.0005)]
    expected = ["embedded: HGETALL", "embedded: HGETALL, pipelined by 3"]
    if redis_url:
        expected += ["real Redis: HGETALL", "real Redis: HGETALL, pipelined by 3"]
    assert names == expected


def test_http_rows_and_sizes(lab):
    from labserver.experiments.costs import http, sizes

    rows = http(lab, rounds=1, min_block=0.001)
    assert [r.name for r in rows][1:] == ["GET /session/me (cookie, store)", "GET /api/me (JWT, no store)",
                                          "GET /api/me/deny-checked (JWT + 1 read)"]
    statuses = [e.status for e in lab.request_log.entries if e.path in ("/session/me", "/api/me", "/api/me/deny-checked")]
    assert statuses and set(statuses) == {200}, "every benchmarked request must succeed, or it measures errors"
    size = sizes(lab)
    assert size["session cookie"] < size["JWT HS256"] < size["JWT ES256"] < size["JWT RS256"]


def test_the_report_has_every_section(lab):
    from labserver.experiments.costs import report

    text = report(quick=True, lab=lab)
    for heading in ("checking one credential", "HS256: sign and verify", "session lookup",
                    "one HTTP request over loopback", "credential bytes"):
        assert heading in text
