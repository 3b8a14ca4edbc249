"""``python -m labserver grade``: a class table and CSV for learners' folders, and a learner's
file that loops, exits or kills its parent harms neither the grading run nor the other learners."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time

import pytest

from labserver import grading
from labserver.checking import ROOT

SOME = ["ex01", "ex02", "ex04"]  # a few fast suites; one test grades all 23 for one learner

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the check worker needs os.fork")


def grade(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "labserver", "grade", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,  # a guard against a hung grading run, not a measurement
    )


def copy_of(folder: str, to) -> None:
    shutil.copytree(ROOT / folder, to, ignore=shutil.ignore_patterns("__pycache__"))


def rows(table: str) -> dict[str, list[str]]:
    """exercise -> its cells, from the table's first lines."""
    return {line.split()[0]: line.split()[1:] for line in table.splitlines() if line[:2] == "ex"}


@pytest.fixture
def a_class(tmp_path):
    """Four made-up learners: solved, untouched, looping (ex01 never returns) and hostile
    (ex01 exits the process, ex02 missing, ex04 kills its parent and then loops)."""
    klass = tmp_path / "class"
    copy_of("solutions", klass / "solved")
    copy_of("exercises", klass / "untouched")
    copy_of("solutions", klass / "looping")
    (klass / "looping" / "ex01_session_lookup.py").write_text(
        "def new_session_id():\n    while True:\n        pass\n"
    )
    copy_of("solutions", klass / "hostile")
    (klass / "hostile" / "ex01_session_lookup.py").write_text("import os\nos._exit(0)\n")
    (klass / "hostile" / "ex02_logout_everywhere.py").unlink()
    pid_file = tmp_path / "hostile.pid"
    (klass / "hostile" / "ex04_verify_access_token.py").write_text(
        "import os, pathlib, signal\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))\n"
        "os.kill(os.getppid(), signal.SIGKILL)\n"
        "while True:\n    pass\n"
    )
    return klass, pid_file


def test_a_class_table_and_csv(a_class, tmp_path):
    """Graded two learners at a time (--jobs 2): the table keeps the learners' order, and the
    hostile learner harms no other. (One learner at a time: the next test.)"""
    klass, pid_file = a_class
    learners = ["solved", "untouched", "looping", "hostile"]
    out = tmp_path / "grades.csv"
    run = grade(
        *(str(klass / n) for n in learners),
        "--exercises",
        ",".join(SOME),
        "--timeout",
        "5",
        "--csv",
        str(out),
        "--jobs",
        "2",
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "grading 4 learners, 2 at a time" in run.stderr
    table = run.stdout
    assert table.splitlines()[0].split() == learners
    cells = rows(table)
    assert [c[0] for c in cells.values()] == ["✓"] * 3  # solved: no footnote numbers
    assert [c[1][0] for c in cells.values()] == ["✗"] * 3
    assert [c[2][0] for c in cells.values()] == ["⏱", "✓", "✓"]
    assert [c[3][0] for c in cells.values()] == ["!", "–", "!"]
    assert "solved: 3 of 3 pass\n" in table
    assert "untouched: 0 of 3 pass (3 failed)" in table
    assert "looping: 2 of 3 pass (1 timed out)" in table
    assert "hostile: 1 of 3 pass" not in table
    assert "hostile: 0 of 3 pass (2 could not run, 1 not submitted)" in table
    assert "NotImplementedError: the function is still the stub" in table

    with out.open(newline="", encoding="utf-8") as f:
        got = list(csv.DictReader(f))
    assert list(got[0]) == grading.CSV_FIELDS
    assert [(r["learner"], r["exercise"], r["status"]) for r in got] == [
        (n, e, s)
        for n, statuses in [
            ("solved", ["passed"] * 3),
            ("untouched", ["failed"] * 3),
            ("looping", ["timeout", "passed", "passed"]),
            ("hostile", ["error", "missing", "error"]),
        ]
        for e, s in zip(SOME, statuses, strict=True)
    ]
    by = {(r["learner"], r["exercise"]): r for r in got}
    assert by["solved", "ex04"]["passed"] == by["solved", "ex04"]["total"] != "0"
    assert by["solved", "ex04"]["first_failure"] == ""
    untouched = by["untouched", "ex01"]
    assert untouched["passed"] == "0" and int(untouched["total"]) > 0
    assert untouched["first_failure"].endswith(
        "NotImplementedError: the function is still the stub"
    )
    assert "did not finish within 5 s" in by["looping", "ex01"]["first_failure"]
    assert "ended during the checks" in by["hostile", "ex04"]["first_failure"]

    # The check that killed its parent and looped was killed with it, not left running.
    pid = int(pid_file.read_text())
    gone = _gone(pid)
    if not gone:
        os.kill(pid, 9)  # not left burning a core after the test
    assert gone, f"process {pid} of the hostile ex04 still runs"


def _gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    deadline = time.monotonic() + 10  # only for init to reap it; the kill itself is immediate
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        except OSError:
            os.kill(pid, 0)  # no /proc here: ProcessLookupError once it is gone
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="the file finds its grader in /proc")
def test_with_jobs_a_file_that_kills_its_grader_costs_only_its_learner(tmp_path):
    """The chain is grader -> warm worker -> check: this file kills the grader, two levels up."""
    copy_of("solutions", tmp_path / "solved")
    copy_of("solutions", tmp_path / "killer")
    (tmp_path / "killer" / "ex01_session_lookup.py").write_text(
        "import os, signal\n"
        "stat = open(f'/proc/{os.getppid()}/stat').read()\n"
        "os.kill(int(stat.rsplit(')', 1)[1].split()[1]), signal.SIGKILL)\n"
    )
    copy_of("solutions", tmp_path / "solved2")
    learners = ["solved", "killer", "solved2"]
    run = grade(*(str(tmp_path / n) for n in learners), "--exercises", "ex01,ex02", "--jobs", "2")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "solved: 2 of 2 pass\n" in run.stdout and "solved2: 2 of 2 pass\n" in run.stdout
    assert "killer: 0 of 2 pass (2 could not run)" in run.stdout
    assert "the grading process ended (exit code -9)" in run.stdout


def test_every_exercise_for_a_solved_learner(tmp_path):
    copy_of("solutions", tmp_path / "alice" / "exercises")  # named after the parent folder
    run = grade(str(tmp_path / "alice" / "exercises"), "--jobs", "4")  # 1 learner: 1 at a time
    assert run.returncode == 0, run.stderr[-2000:]
    assert "grading alice (" in run.stderr
    count = len(grading.exercises(ROOT))
    assert count == 23 and f"alice: {count} of {count} pass\n" in run.stdout
    assert "First failing check" not in run.stdout


@pytest.mark.parametrize(
    "args, said",
    [
        (["{tmp}/nobody"], "not a folder"),
        (["{tmp}/a", "--exercises", "ex01,ex99"], "no exercise 'ex99'"),
        (["{tmp}/a/exercises", "{tmp}/b/a"], "two folders have the learner name 'a'"),
        (["{tmp}/a", "--timeout", "0"], "--timeout must be a positive"),
        (["{tmp}/a", "--jobs", "0"], "--jobs must be a whole number of at least 1"),
        (["{tmp}/a", "--csv", "{tmp}/no/g.csv"], "no folder"),
        ([], "the following arguments are required: DIR"),
    ],
)
def test_usage_errors_exit_2_and_say_why(tmp_path, args, said):
    for folder in ("a/exercises", "b/a"):
        (tmp_path / folder).mkdir(parents=True)
    run = grade(*(a.format(tmp=tmp_path) for a in args))
    assert run.returncode == 2 and said in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_a_learners_text_is_one_printable_line_and_no_spreadsheet_formula(tmp_path):
    said = grading.clean("boom\x1b[2J\nsecond line\x07" + "x" * 1000)
    assert "\x1b" not in said and "\n" not in said and "\x07" not in said
    assert said.startswith("boom\\x1b[2J second line\\x07") and len(said) == 300
    out = tmp_path / "g.csv"
    grading.write_csv(out, [grading.Grade("=cmd()", "ex01", "failed", 0, 1, "@SUM(A1)")])
    assert out.read_text(encoding="utf-8").splitlines()[1] == "'=cmd(),ex01,failed,0,1,'@SUM(A1)"
