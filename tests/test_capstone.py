"""Chapter 11's capstone: every flaw can be drawn and exploited, the hardened build refuses
every exploit with its rule, a seed fixes the target, the scorer counts false claims, hints
unlock in order, and exercise 23's solution scores full marks where its stub scores zero."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import jwt
import pytest

from labserver import LabClock, start_lab
from labserver.capstone import (
    CATALOGUE,
    FLAWS,
    PLACES,
    Finding,
    Request,
    class_seed,
    draw,
    start_capstone,
)
from labserver.chapters.capstone import ENDPOINTS, check_catalogue
from labserver.experiments.attacks import Attacker, crack_hs256, words
from labserver.forge import encode_unsigned, hs256_with_key_bytes, tamper

ROOT = Path(__file__).resolve().parents[1]
NAME = "ex23_find_the_flaws_in_a_black_box.py"


def _load(folder: str):
    spec = importlib.util.spec_from_file_location(f"capstone_{folder}", ROOT / folder / NAME)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOLUTION, STUB = _load("solutions"), _load("exercises")
#: The first seed (of 0, 1, 2, ...) that draws each flaw.
FIRST_SEED = {
    f.id: next(s for s in range(1000) if f.id in draw(s).flaws.values()) for f in CATALOGUE
}


@pytest.fixture
def targets():
    """Start capstone targets (``targets(seed, ...)``); each is stopped, and checked for crashes."""
    started = []

    def start(seed, **options):
        target = start_capstone(seed, clock=LabClock.frozen(), **options)
        started.append(target)
        return target

    yield start
    for target in started:
        target.stop()
        assert target.crashes == [], target.crashes


def test_the_catalogue_has_every_chapter_09_flaw_and_each_has_a_behaviour():
    assert {f.id for f in CATALOGUE} >= {
        "no-verify", "alg-none", "weak-secret", "jwk-header", "jku", "kid-path", "alg-confusion",
        "kid-sql", "x5c", "unbound-refresh", "token-in-url", "predictable-session",
        "session-fixation",
    }  # fmt: skip
    assert check_catalogue() == [], "a flaw of the catalogue has no behaviour in the app"
    for flaw in CATALOGUE:
        assert flaw.places and set(flaw.places) <= set(PLACES)
        assert len(flaw.hints) == 3 and all(flaw.hints) and flaw.anchor and flaw.behaviour
        assert flaw.exploit in ("token", "session", "fixation", "refresh", "stolen")


@pytest.mark.parametrize("flaw", list(FIRST_SEED), ids=str)
def test_every_flaw_can_be_drawn_and_exploited(flaw, targets):
    """The first seed that draws ``flaw``: the solution finds it, and its exploit scores."""
    seed = FIRST_SEED[flaw]
    assert seed < 50, f"{flaw} is first drawn by seed {seed}: rarely"
    target = targets(seed)
    report = target.score(SOLUTION.findings)
    line = next(line for line in report.lines if line.flaw == flaw)
    assert line.points == 1 and line.verdict.startswith("the exploit works"), report.text()
    assert report.full_marks, report.text()


def _forge(flaw: str, a: Attacker, mine: str) -> str:
    claims = a.claims(mine, roles=["admin"])
    return dict(SOLUTION.FORGERIES)[flaw](a, mine, claims)


HARDENED_REASONS = {
    "no-verify": "bad signature",
    "alg-none": "algorithm not allowed: 'none'",
    "jwk-header": "unknown key: kid 'mine' is not one of this server's keys",
    "jku": "unknown key: kid 'mine' is not one of this server's keys",
    "kid-path": "unknown key: kid '../pages/help.txt' is not one of this server's keys",
    "alg-confusion": "algorithm not allowed: kid 'rs256-1' is an RS256 key",
    "kid-sql": "unknown key: kid \"x' UNION SELECT 'known-secret' --\" is not one of this "
    "server's keys",
    "x5c": "untrusted certificate chain: its root 'CN=Attacker Root CA' is not a trust anchor",
}


@pytest.mark.parametrize("place", ["/api/profile", "/api/orders", "/api/admin/report"])
def test_the_hardened_build_refuses_every_token_forgery_with_its_rule(place, targets):
    # every forgery of the catalogue (the weak secret has a test of its own, below)
    assert set(HARDENED_REASONS) == {f.id for f in CATALOGUE if f.exploit == "token"} - {
        "weak-secret"
    }
    target = targets(FIRST_SEED["kid-path"], hardened=True)
    a = Attacker(target)
    mine = a.token("bob", path="/token")
    for flaw, reason in HARDENED_REASONS.items():
        status, body = a.call(place, _forge(flaw, a, mine))
        assert status == 401 and body["error_description"].startswith(reason), (flaw, body)
    assert a.call(place, mine)[0] == (403 if place == "/api/admin/report" else 200)


def test_the_hardened_build_has_a_strong_hmac_secret(targets):
    seed = FIRST_SEED["weak-secret"]
    weak, hardened = targets(seed), targets(seed, hardened=True)
    for target, cracked in ((weak, True), (hardened, False)):
        a = Attacker(target)
        hs256 = a.token("bob", path="/token", alg="HS256")
        secret = crack_hs256(hs256, words())
        assert (secret == draw(seed).weak_secret) if cracked else secret is None
    # The word that cracks the flawed build, tried on the hardened one: a bad signature.
    a = Attacker(hardened)
    forged = hs256_with_key_bytes(
        {"kid": "hs256-1"}, a.claims(roles=["admin"], token=a.token("bob", path="/token")),
        draw(seed).weak_secret.encode(),
    )  # fmt: skip
    status, body = a.call("/api/admin/report", forged)
    assert status == 401 and body["error_description"].startswith("bad signature")


def _login(http, user="bob", password="builder"):
    answer = http.post("/login", json={"username": user, "password": password})
    assert answer.status_code == 200, answer.text
    return answer.cookies["sid"]


def test_the_hardened_build_refuses_the_session_attacks(targets):
    target = targets(FIRST_SEED["predictable-session"], hardened=True)
    first, second = _login(target.client()), _login(target.client())
    assert len(first) == len(second) == 43 and not first.isdigit()  # 256 random bits
    guess = target.client().get("/account", cookies={"sid": str(int("1" + "0" * 3) + 1)})
    assert guess.status_code == 401 and guess.json()["error_description"].startswith("no such")
    # Fixation: carol logs in with a planted anonymous ID, and gets a new one.
    planted = target.client().get("/cart").cookies["sid"]
    carol = target.client()
    carol.cookies.set("sid", planted)
    facts = target.facts()
    assert _login(carol, "carol", facts["victim_password"]) != planted
    answer = target.client().get("/account", cookies={"sid": planted})
    assert answer.status_code == 401
    assert answer.json()["error_description"].startswith("no such session")


def test_the_flawed_builds_findings_score_nothing_on_the_hardened_build(targets):
    seed = FIRST_SEED["session-fixation"]
    flawed, hardened = targets(seed), targets(seed, hardened=True)
    assert SOLUTION.findings(hardened) == []
    findings = SOLUTION.findings(flawed)
    report = hardened.score(findings)
    assert report.score == 0 and report.false_claims == len(findings) == 3, report.text()
    # the hardened build's HS256 secret is no word: a token signed with the word is not refused
    # on replay but before it, as no exploit of a weak secret this build has
    assert all(
        "the exploit does not work" in line.verdict
        or line.verdict.startswith("not an exploit of weak-secret")
        for line in report.lines
    ), report.text()


def test_the_same_seed_gives_the_same_target_and_other_seeds_differ(targets):
    assert draw(7) == draw(7) and draw("class-a") == draw("class-a")
    assert draw(7) != draw(8) and draw(1) != draw("1")
    assert len({json.dumps(draw(s).as_dict()["flaws"]) for s in range(20)}) >= 10
    one, two = targets("class-a"), targets("class-a")
    assert one.description == two.description and one.url != two.url
    claims = [{(f.endpoint, f.flaw) for f in SOLUTION.findings(t)} for t in (one, two)]
    assert claims[0] == claims[1] == set(draw("class-a").flaws.items())
    assert draw("class-a", hardened=True).flaws == {}


def test_a_seed_is_an_int_or_a_str():
    for seed in (1.5, None, True, b"x"):
        with pytest.raises(TypeError, match="an int or a str"):
            draw(seed)
    with pytest.raises(ValueError, match="cannot sit on"):
        draw(1, flaws={"/token": "alg-none"})


LAYOUT = {"/login": "predictable-session", "/api/profile": "no-verify", "/api/orders": "alg-none"}


def test_false_claims_cost_a_point_each_and_the_total_stays_at_or_above_zero(targets):
    target = targets(3, flaws=LAYOUT)
    a = Attacker(target)
    mine = a.token("bob", path="/token")
    admin = a.claims(mine, roles=["admin"])
    unsigned = encode_unsigned({"alg": "none", "typ": "at+jwt"}, admin)
    true_claims = [
        Finding("/api/profile", "no-verify", tamper(mine, roles=["admin"])),
        Finding("/api/orders", "alg-none", unsigned),
    ]
    false_claims = [
        Finding("/api/profile", "alg-none", unsigned),  # works, but the flaw is no-verify
        Finding("/api/admin/report", "alg-none", unsigned),  # no flaw there
        Finding("/api/orders", "jwk-header", _forge("jwk-header", a, mine)),  # not that flaw
        Finding("/api/orders", "no-verify", tamper(mine, roles=["admin"])),
        Finding("/api/admin/report", "no-verify", mine),  # a genuine token: no forgery
        Finding("/api/profile", "kid-path", unsigned),  # not a kid-path exploit at all
        Finding("/token", "weak-secret", unsigned),
        Finding("/login", "predictable-session", Request(cookies={"sid": "1"})),
        Finding("/login", "session-fixation", unsigned),  # a token, not a request
        Finding("/api/nowhere", "alg-none", unsigned),
        Finding("/api/orders", "sql-injection", unsigned),
        "alg-none on /api/orders",
    ]
    report = target.score(true_claims + false_claims + true_claims[:1])
    points = [line.points for line in report.lines]
    assert points == [1, 1] + [-1] * len(false_claims) + [0], report.text()
    assert report.found == 2 and report.false_claims == len(false_claims) and report.score == 0
    verdicts = [line.verdict for line in report.lines]
    assert "by another flaw than alg-none" in verdicts[2]
    assert verdicts[3].startswith("the exploit does not work: /api/admin/report answered 401")
    assert verdicts[6] == "not a forgery: the target issued this very token"
    assert verdicts[-1] == "claimed again above: counted once"
    assert target.score(true_claims + false_claims[:1]).score == 1
    assert report.text().splitlines()[0].endswith("score 0 of 3 · hints used: 0")


def test_the_victims_session_is_found_by_counting_down(targets):
    target = targets(3, flaws=LAYOUT)
    mine = int(_login(target.client()))
    victim = str(draw(3).first_session)
    assert mine > int(victim)
    found = Finding("/login", "predictable-session", Request(cookies={"sid": victim}))
    neighbour = Finding("/login", "predictable-session", Request(cookies={"sid": str(mine)}))
    assert target.score([found]).score == 1
    report = target.score([neighbour])
    assert report.lines[0].verdict.endswith("not the victim's session (carol logged in before you)")


def test_the_scorer_changes_nothing_on_the_target(targets):
    """A claim that would log carol out is refused unsent: her session still opens after it."""
    target = targets(3, flaws=LAYOUT)
    victim = str(draw(3).first_session)
    logout = Request("POST", "/logout", cookies={"sid": victim})
    report = target.score([Finding("/login", "predictable-session", logout)])
    assert report.lines[0].points == -1, report.text()
    assert "a session exploit is a GET" in report.lines[0].verdict
    found = Request(cookies={"sid": victim})
    assert target.score([Finding("/login", "predictable-session", found)]).score == 1


def test_hints_unlock_one_at_a_time_in_order(targets):
    target = targets(3, flaws=LAYOUT)
    hints = [target.hint() for _ in range(10)]
    assert hints[0] == f"hint 1 of 9 · flaw 1 of 3: {FLAWS['predictable-session'].hints[0]}"
    assert hints[2] == f"hint 3 of 9 · flaw 3 of 3: {FLAWS['alg-none'].hints[0]}"
    assert (
        hints[3] == f"hint 4 of 9 · flaw 1 of 3 · /login: {FLAWS['predictable-session'].hints[1]}"
    )
    assert hints[8].startswith("hint 9 of 9 · flaw 3 of 3 · /api/orders: ")
    assert hints[9] == "No more hints: all 9 are shown." and target.hints_used == 9
    assert "hints used: 9" in target.score([]).text()
    assert targets(3, hardened=True).hint() == "This build has no flaws, so it has no hints."


def test_the_hint_button_shows_the_next_hint(targets):
    target = targets(3, flaws=LAYOUT)
    box = target.hint_button()
    button, label = box.children
    button.click()
    button.click()
    assert label.value.startswith("hint 2 of 9 · flaw 2 of 3: ") and target.hints_used == 2


def test_exercise_23_solution_scores_full_marks_on_any_seed_and_the_stub_scores_zero(targets):
    for seed in (class_seed(), 0, 11, "another class"):
        target = targets(seed)
        report = target.score(SOLUTION.findings)
        assert report.full_marks and report.score == 3, report.text()
        stub = target.score(STUB.findings)
        assert stub.score == 0 and stub.found == 0 and "NotImplementedError" in stub.error


def test_the_index_lists_every_endpoint_and_no_flaw(targets):
    target = targets(FIRST_SEED["jku"])
    answer = target.http.get("/")
    assert answer.headers["X-Lab-Warning"].startswith("DELIBERATELY VULNERABLE capstone")
    routes = {
        f"{m} {r.rule}"
        for r in target.app.url_map.iter_rules()
        for m in r.methods - {"HEAD", "OPTIONS"}
        if r.endpoint != "static"
    }
    assert set(answer.json()["endpoints"]) == routes == set(ENDPOINTS)
    text = answer.text.lower()
    leaks = [f.id for f in CATALOGUE if f.id in text] + [
        f.title for f in CATALOGUE if f.title in text
    ]
    assert leaks == []
    hardened = targets(1, hardened=True).http.get("/api/profile")
    assert hardened.headers["X-Lab-Warning"] == "capstone target of the JWT lab, hardened build"


def test_start_lab_starts_the_capstone_on_its_own_port_sharing_store_and_clock():
    lab = start_lab(redis_url="", clock=LabClock.frozen(), replace=False, capstone="s")
    try:
        assert lab.capstone.url != lab.url and lab.capstone.clock is lab.clock
        assert lab.capstone.app.extensions["capstone"].store is lab.app.extensions["lab"].store
        assert lab.capstone.seed == "s" and not lab.capstone.hardened
        assert "3 flaws hidden" in repr(lab.capstone)
    finally:
        lab.stop()
    assert not lab.capstone.running
    plain = start_lab(redis_url="", replace=False, capstone=5, capstone_hardened=True)
    try:
        assert plain.capstone.hardened and plain.capstone.description.flaws == {}
    finally:
        plain.stop()
    other = start_lab(redis_url="", replace=False)
    try:
        with pytest.raises(RuntimeError, match="start_lab\\(capstone=SEED\\)"):
            other.capstone  # noqa: B018
    finally:
        other.stop()


def test_tokens_are_checked_for_expiry_on_the_lab_clock(targets):
    target = targets(3, flaws=LAYOUT)
    a = Attacker(target)
    mine = a.token("bob", path="/token")
    target.clock.advance(301)
    status, body = a.call("/api/profile", mine)
    assert status == 401 and body["error_description"].startswith("expired")
    unsigned = encode_unsigned(
        {"alg": "none"},
        {**jwt.decode(mine, options={"verify_signature": False}), "roles": ["admin"]},
    )
    assert a.call("/api/orders", unsigned)[0] == 401  # the flawed verifier keeps expiry


def test_the_fuzz_covers_every_capstone_route_with_every_flaw_on():
    """tests/test_fuzz.py fuzzes the capstone role: every route, every flaw, and hardened."""
    from tests.test_fuzz import CAPSTONE_LAYOUTS, CAPSTONE_RULES

    assert {f"{method} {rule}" for rule, method in CAPSTONE_RULES} == set(ENDPOINTS)
    drawn = [flaw for layout in CAPSTONE_LAYOUTS if layout for flaw in layout.values()]
    assert sorted(drawn) == sorted(FLAWS) and None in CAPSTONE_LAYOUTS


def test_the_capstone_fails_closed_without_its_store(targets):
    target = targets(3, flaws=LAYOUT)
    token = Attacker(target).token("bob", path="/token")
    with target.store_outage():
        login = target.http.post("/login", json={"username": "bob", "password": "builder"})
        account = target.client().get("/account", cookies={"sid": "1000"})
        orders = target.client().get("/api/orders", headers={"Authorization": f"Bearer {token}"})
    assert login.status_code == account.status_code == 503
    assert login.json()["error"] == "store_unavailable"
    assert orders.status_code == 200  # a bearer endpoint needs no store


def _leaked(target) -> str:
    """carol's expired token, as the incident report quotes it."""
    return target.client().get("/pages/incident.txt").text.split("Bearer ")[1].strip()


def _refresh(target, user="bob", password="builder") -> str:
    answer = target.client().post("/token", json={"username": user, "password": password})
    return answer.json()["refresh_token"]


def test_the_hardened_build_refuses_the_unbound_refresh(targets):
    seed = FIRST_SEED["unbound-refresh"]
    for target in (targets(seed), targets(seed, hardened=True)):
        a, leaked = Attacker(target), _leaked(target)
        assert a.call("/api/admin/report", leaked)[1]["error_description"].startswith("expired")
        answer = target.client().post(
            "/token/refresh", json={"refresh_token": _refresh(target), "access_token": leaked}
        )
        if not target.hardened:
            assert answer.status_code == 200, answer.text
            assert a.claims(answer.json()["access_token"])["sub"] == "carol"
            continue
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
        assert answer.json()["error_description"].startswith(
            "the refresh token is bound to its user 'bob', and the access token it would "
            "replace belongs to 'carol'"
        )
        # bob's own expired token with his own refresh token, or none: a new token for bob
        mine = a.token("bob", path="/token")
        target.clock.advance(301)
        for body in ({"access_token": mine}, {}):
            answer = target.client().post(
                "/token/refresh", json={"refresh_token": _refresh(target), **body}
            )
            assert (
                answer.status_code == 200
                and a.claims(answer.json()["access_token"])["sub"] == "bob"
            )
        forged = tamper(mine, sub="carol")
        answer = target.client().post(
            "/token/refresh", json={"refresh_token": _refresh(target), "access_token": forged}
        )
        assert answer.json()["error_description"].startswith("the access token is refused: bad")


def _log(target) -> list[str]:
    return target.client().get("/logs/access", params={"n": 200}).json()["lines"]


def test_the_hardened_build_refuses_a_token_in_the_url(targets):
    seed = FIRST_SEED["token-in-url"]
    flawed, hardened = targets(seed), targets(seed, hardened=True)
    assert draw(seed).flaws["/api/orders"] == "token-in-url"
    for target in (flawed, hardened):
        a = Attacker(target)
        mine = a.token("bob", path="/token")
        orders = target.client().get("/api/orders", params={"access_token": mine})
        profile = target.client().get("/api/profile", params={"access_token": mine})
        assert profile.status_code == 400  # every other endpoint refuses it, in every build
        assert profile.json()["error_description"].startswith("access_token in the URL is refused")
        carols = [line for line in _log(target) if "access_token" in line and "orders" in line]
        assert len(carols) == 2  # bob's, and carol's dashboard's (it ran as the log was read)
        stolen = carols[-1].split("access_token=")[1].split(" ")[0]
        if target is flawed:
            assert orders.status_code == 200 and carols[-1].endswith(" 200")
            assert a.call("/api/admin/report", stolen)[1]["roles"] == ["user", "admin"]
            report = target.score([Finding("/api/orders", "token-in-url", stolen)])
            assert report.score == 1 and report.lines[0].points == 1, report.text()
            assert (
                target.score([Finding("/api/orders", "token-in-url", mine)]).lines[0].verdict
                == "not an exploit of token-in-url: no URL of carol's held this token"
            )
        else:
            assert orders.status_code == 400 and carols[-1].endswith(" 400")
            assert orders.json()["error_description"].startswith(
                "access_token in the URL is refused: URLs end up in logs"
            )
            assert stolen.endswith("…") and len(stolen) == 9  # what the log kept of it
            assert a.call("/api/admin/report", stolen.rstrip("…"))[0] == 401


def test_carols_dashboard_calls_once_a_minute_of_lab_time(targets):
    target = targets(FIRST_SEED["token-in-url"])
    dashboard = [line for line in _log(target) + _log(target) if "access_token" in line]
    assert len(dashboard) == 2 and dashboard[0] == dashboard[1]  # the same call, seen twice
    target.clock.advance(61)
    assert len({line for line in _log(target) if "access_token" in line}) == 2
