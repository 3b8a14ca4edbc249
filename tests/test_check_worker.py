"""The warm check worker (labserver/_check_worker.py): same reports as a fresh process, and a
learner's file that hangs, exits or kills the worker harms neither the kernel nor the next check."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from labserver import checking
from labserver.checking import ROOT, run_suite

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the worker needs os.fork")


def _copy(tmp_path, source: str):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "ex01_session_lookup.py").write_text(source)
    return folder


def _outcomes(report) -> list[tuple[str, str, str]]:
    return [(r.test, r.outcome, r.hint) for r in report.results]


@pytest.mark.parametrize("impl", ["exercises", "solutions"])
@pytest.mark.parametrize("exercise", ["ex01", "ex14", "ex21"])
def test_the_worker_reports_what_a_fresh_process_reports(check_worker, monkeypatch, exercise, impl):
    warm = run_suite(exercise, impl)
    assert check_worker._process is not None and check_worker._process.poll() is None  # it was used
    monkeypatch.setattr(checking, "_WORKER", checking._Worker())
    monkeypatch.setenv("LAB_CHECK_WORKER", "0")  # the fallback: python -m pytest
    fresh = run_suite(exercise, impl)
    assert checking._WORKER._process is None
    assert warm.total > 0 and _outcomes(warm) == _outcomes(fresh)


def test_an_endless_loop_is_killed_and_the_worker_stays(check_worker, tmp_path):
    folder = _copy(
        tmp_path,
        "from labserver.store import key\n"
        "def session_key(s): return key('session', s)\n"
        "def lookup_session(*a, **k):\n    while True: pass\n",
    )
    report = run_suite("ex01", str(folder), timeout=2)
    assert "did not finish within 2 s" in report.text()
    pid = check_worker._process.pid
    assert run_suite("ex01", "solutions").ok
    assert check_worker._process.pid == pid


def test_a_file_that_kills_the_worker_costs_one_restart(check_worker, tmp_path):
    folder = _copy(tmp_path, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n")
    first = run_suite("ex01", str(folder))
    assert "the checking process ended during the checks" in first.error
    assert run_suite("ex01", "solutions").ok  # a new worker, or the fallback


def test_a_file_that_exits_is_a_report(check_worker, tmp_path):
    folder = _copy(tmp_path, "import os\nos._exit(3)\n")
    report = run_suite("ex01", str(folder))
    assert "does the file exit the process?" in report.error
    assert run_suite("ex01", "solutions").ok


def test_a_learners_edit_is_seen_by_the_next_check(check_worker, tmp_path):
    folder = tmp_path / "mine"
    shutil.copytree(ROOT / "exercises", folder)
    assert not run_suite("ex01", str(folder)).ok
    shutil.copy(ROOT / "solutions" / "ex01_session_lookup.py", folder)
    assert run_suite("ex01", str(folder)).ok


def test_the_worker_ends_with_the_process_that_started_it():
    code = (
        "from labserver import checking, check\n"
        "check('ex01')\n"
        "print(checking._WORKER._process.pid, flush=True)\n"
        "import os; os._exit(0)\n"  # no cleanup at all, as when a kernel is killed
    )
    env = {k: v for k, v in os.environ.items() if k != "LAB_CHECK_WORKER"}
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    pid = int(run.stdout.split()[-1])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False
