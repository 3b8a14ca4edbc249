"""A learner's file that signals its whole process group, and a check
interrupted while it waits, harm neither the kernel nor the next check."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labserver import checking
from labserver.checking import ROOT, run_suite

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the worker needs os.fork")

KERNEL = (
    "import sys\n"
    "from labserver.checking import run_suite\n"
    "print(run_suite('ex01', sys.argv[1]).text())\n"
)


def test_a_file_that_signals_its_process_group_does_not_kill_the_kernel(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "ex01_session_lookup.py").write_text(
        "import os, signal\nos.killpg(os.getpgrp(), signal.SIGTERM)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LAB_CHECK_WORKER"}
    kernel = subprocess.run(  # a kernel of its own, in a session of its own: not this pytest's
        [sys.executable, "-c", KERNEL, str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )
    assert kernel.returncode == 0, (kernel.returncode, kernel.stderr[-500:])
    assert "ex01 · could not be checked" in kernel.stdout


def test_an_interrupted_check_leaves_no_answer_for_the_next_one(check_worker, monkeypatch):
    select, calls = checking.select.select, []

    def interrupted_once(*args):
        calls.append(args)
        if len(calls) == 2:  # the wait for the job's answer (the first is for "ready")
            raise KeyboardInterrupt
        return select(*args)

    monkeypatch.setattr(checking.select, "select", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        run_suite("ex01", "solutions")
    report = run_suite("ex01", "solutions")
    assert report.ok, report.text()


FLOOD = (
    "import sys\n"
    "from labserver.store import key\n"
    "def session_key(s): return key('session', s)\n"
    "def lookup_session(*a, **k):\n"
    "    for _ in range(500): sys.stdout.write('x' * 10_000 + '\\n')\n"
    "    raise ValueError('flooded')\n"
)


@pytest.mark.parametrize("fresh", [False, True], ids=["worker", "fresh-process"])
def test_a_file_that_floods_stdout_is_a_report_and_the_kernel_reads_only_the_logs_end(
    check_worker, monkeypatch, tmp_path, fresh
):
    """Each failing check shows its captured output in pytest's log (here 5 MB a check, some
    60 MB in all): the kernel reads only the log's last lines, never the whole of it."""
    import tracemalloc

    if fresh:
        monkeypatch.setenv("LAB_CHECK_WORKER", "0")  # the fallback: python -m pytest
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "ex01_session_lookup.py").write_text(FLOOD)
    tracemalloc.start()
    try:
        report = run_suite("ex01", str(folder))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.total > 0 and not report.ok and not report.error, report.text()
    assert peak < 8 * 1024 * 1024, f"the kernel held {peak / 2**20:.0f} MiB while checking"


def test_a_huge_exception_message_is_cut_short_in_the_report(check_worker, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "ex01_session_lookup.py").write_text(
        "def session_key(s):\n    raise ValueError('x' * 1_000_000)\n"
        "def lookup_session(*a, **k):\n    raise ValueError('y' * 1_000_000)\n"
        "def new_session_id(*a, **k):\n    raise ValueError('z' * 1_000_000)\n"
    )
    report = run_suite("ex01", str(folder))
    assert report.total > 0 and not report.ok and not report.error, report.text()[:500]
    assert len(report.text()) < 10_000
    assert all(len(r.problem) + len(r.hint) < 2_100 for r in report.results)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed and waiting for init to reap it, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_process_the_file_forks_ends_with_its_check(check_worker, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    pid_file = tmp_path / "forked.pid"
    (folder / "ex01_session_lookup.py").write_text(
        "import os, time\n"
        "if os.fork() == 0:\n"
        f"    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "    time.sleep(120)\n"
        "    os._exit(0)\n"
    )
    report = run_suite("ex01", str(folder))
    check_worker.stop()  # as before the fork's check below: its check, not the worker, ends it
    assert report.total > 0 or report.error, report.text()
    for _ in range(500):  # the fork writes its pid at once; SIGKILL takes effect at once
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.01)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    alive = _alive(pid)
    if alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "the process the learner's file forked outlived its check"
