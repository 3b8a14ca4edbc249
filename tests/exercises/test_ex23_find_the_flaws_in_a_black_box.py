"""Checks for exercise 23: the findings for a capstone target, replayed by its scorer.

The target is started with the class's seed: ``$LAB_CAPSTONE_SEED`` (an instructor sets it
for a class), else the course's. The findings are made once, for a fresh target, and every
check reads their score; none of them says where the flaws are.
"""

import importlib.util

import pytest

from labserver.capstone import Finding, class_seed, start_capstone
from labserver.clock import LabClock
from tests.exercises.conftest import impl_folder


@pytest.fixture(scope="module")
def outcome(request):
    """(the score report, the findings, the exception findings() raised or None)."""
    path = impl_folder(request.config) / "ex23_find_the_flaws_in_a_black_box.py"
    spec = importlib.util.spec_from_file_location("lab_impl_ex23_find_the_flaws", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the module-scoped twin of the `impl` fixture
    target = start_capstone(class_seed(), clock=LabClock.frozen())
    try:
        try:
            found = module.findings(target)
        except Exception as exc:  # noqa: BLE001 - each check shows it
            yield None, None, exc
            return
        yield target.score(found), found, None
    finally:
        target.stop()


def _ran(outcome):
    score, found, exc = outcome
    if exc is not None:
        raise exc
    return score, found


def test_findings_returns_a_list_of_findings(outcome):
    """findings(target) returns a list of Finding."""
    _, found = _ran(outcome)
    assert isinstance(found, list) and found, "return a list with one Finding per flaw you showed"
    assert all(isinstance(f, Finding) for f in found), (
        "each item is Finding(endpoint, flaw, exploit) from labserver.capstone"
    )


def test_no_claim_is_false(outcome):
    """Every finding names the flaw on its endpoint, with an exploit that works."""
    score, found = _ran(outcome)
    assert found and score.false_claims == 0 and not score.error, (
        "claim only what your exploit showed, built inside findings() for the target it is "
        "given:\n" + score.text()
    )


def test_every_flaw_is_found(outcome):
    """The findings find every flaw of the target (full marks)."""
    score, _ = _ran(outcome)
    assert score.full_marks, (
        "an endpoint of the index still has a flaw you did not claim (lab.capstone.hint() "
        "gives a hint):\n" + score.text()
    )
