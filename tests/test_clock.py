"""The lab clock: ticking or frozen, only ever forward."""

import time
from datetime import timezone

import pytest

from labserver.clock import LabClock


def test_ticking_clock_follows_the_wall_clock():
    clock = LabClock()
    before = time.time()
    now = clock.now()
    assert before <= now <= time.time()
    assert not clock.is_frozen


def test_frozen_clock_stands_still_until_advanced():
    clock = LabClock(frozen_at=1_000.0)
    assert clock.now() == clock.now() == 1_000.0
    assert clock.advance(60) == 1_060.0
    assert clock.now() == 1_060.0
    assert clock.offset == 60


def test_advance_moves_a_ticking_clock_ahead_of_the_wall_clock():
    clock = LabClock()
    clock.advance(3600)
    assert clock.now() - time.time() == pytest.approx(3600, abs=5)


@pytest.mark.parametrize("bad", [-1, -0.001])
def test_time_never_runs_backwards(bad):
    clock = LabClock(frozen_at=0.0)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(bad)
    assert clock.now() == 0.0


@pytest.mark.parametrize("bad", ["60", None, True])
def test_advance_needs_a_number(bad):
    with pytest.raises(TypeError, match="number of seconds"):
        LabClock().advance(bad)


def test_datetime_views_are_utc():
    clock = LabClock(frozen_at=1_800_000_000.0)
    assert clock.datetime().tzinfo is timezone.utc
    assert clock.isoformat() == "2027-01-15T08:00:00Z"
    assert repr(clock) == "LabClock(2027-01-15T08:00:00Z, frozen, advanced +0 s)"


def test_frozen_now_stands_at_a_whole_second():
    clock = LabClock.frozen()
    assert clock.is_frozen and clock.now() == int(clock.now())
    assert abs(clock.now() - time.time()) < 2


def test_advance_to_a_moment():
    clock = LabClock(frozen_at=100.0)
    assert clock.advance_to(130) == 130
    with pytest.raises(ValueError):
        clock.advance_to(120)
