"""A seed that is no UTF-8 text (a lone surrogate, as Python makes of a
non-UTF-8 byte in $LAB_CAPSTONE_SEED) is explained, not a UnicodeEncodeError from random."""

from __future__ import annotations

import pytest

from labserver.capstone import class_seed, draw


@pytest.mark.parametrize("seed", ["\ud800", "class-\udcff"])
def test_a_seed_with_a_lone_surrogate_is_explained(seed):
    with pytest.raises(ValueError, match="a capstone seed must be UTF-8 text"):
        draw(seed)


def test_a_non_utf8_class_seed_from_the_environment_is_explained(monkeypatch):
    monkeypatch.setenv("LAB_CAPSTONE_SEED", "class-\udcff")  # os.environ's surrogateescape
    with pytest.raises(ValueError, match="LAB_CAPSTONE_SEED"):
        draw(class_seed())
