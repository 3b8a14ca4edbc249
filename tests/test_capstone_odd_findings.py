"""The capstone's scorer never crashes on odd findings a learner may pass."""

from __future__ import annotations

import pytest

from labserver import LabClock
from labserver.capstone import Finding, Request, start_capstone

LAYOUT = {
    "/login": "predictable-session",
    "/api/orders": "alg-none",
    "/token/refresh": "unbound-refresh",
}


@pytest.fixture(scope="module")
def target():
    target = start_capstone(3, clock=LabClock.frozen(), flaws=LAYOUT)
    yield target
    target.stop()
    assert target.crashes == [], target.crashes


def _deep(depth: int = 100_000) -> list:
    outer = inner = []
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return outer


@pytest.mark.parametrize(
    "finding",
    [
        Finding(["/api/orders"], "alg-none", "a.b.c"),  # unhashable endpoint
        Finding("/api/orders", ["alg-none"], "a.b.c"),  # unhashable flaw
        Finding("/api/orders", {"alg": "none"}, "a.b.c"),
        Finding("/login", "predictable-session", Request(cookies={"sid": "1"}, json=_deep())),
        Finding(
            "/token/refresh",
            "unbound-refresh",
            Request(
                "POST",
                "/token/refresh",
                json={"refresh_token": "a", "access_token": "b", "deep": _deep()},
            ),
        ),
    ],
    ids=["endpoint-list", "flaw-list", "flaw-dict", "deep-json", "deep-refresh-json"],
)
def test_score_gives_a_false_claim_line_for_odd_findings_never_an_exception(target, finding):
    report = target.score([finding])
    assert [line.points for line in report.lines] == [-1], report.text()
    assert report.score == 0
