"""Fixtures for the exercise suites: ``impl`` is the module under test.

A suite ``tests/exercises/test_exNN_<topic>.py`` tests ``<impl folder>/exNN_<topic>.py``, where
the folder is ``solutions/`` by default and ``exercises/`` with ``--impl exercises``. The module
is loaded from its file on every run, so a learner's latest save is what gets checked.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from labserver.clock import LabClock

ROOT = Path(__file__).resolve().parents[2]


def impl_folder(config) -> Path:
    """The folder whose modules are under test, from ``--impl``."""
    choice = config.getoption("impl")
    folder = ROOT / choice if choice in ("solutions", "exercises") else Path(choice)
    if not folder.is_dir():
        raise pytest.UsageError(f"--impl {choice!r}: no such folder {folder}")
    return folder


@pytest.fixture
def impl(request):
    """The learner's (or the solution's) module for this test file."""
    name = Path(request.fspath).stem.removeprefix("test_")
    path = impl_folder(request.config) / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"lab_impl_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop(spec.name, None)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def store():
    """An empty embedded store (a fakeredis server of its own), returning str values."""
    import fakeredis

    return fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)


@pytest.fixture
def clock():
    """A frozen lab clock at a round time, so that timeouts are exact."""
    return LabClock(frozen_at=1_800_000_000.0)
