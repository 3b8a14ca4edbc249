"""A learner's copy keeps ``make test`` green, and the run says what the learner has solved.

Issue 13's report, reproduced in a temporary copy of the course (the course as committed, so this
holds on a learner's own copy too): ex01, ex03 and ex04 solved, notebooks saved by JupyterLab
with the learner's runs (their check outputs, execution counts, timing and widget metadata,
cells of their own with an error and a warning), a notebook and a backup file of their own.
Then ``pytest`` runs there as ``make test`` would (harness, course and notebook 00), first in a
git checkout, then in the same files without git (a zip download).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labserver.course_copy import here

SOLVED = {"ex01": 14, "ex03": 5, "ex04": 23}  # exercise: its number of checks
# How many exercises the course has (counted, so that a new exercise does not break this test).
EXERCISES = len(here().course_files("exercises", "ex[0-9][0-9]_*.py"))
NB00 = "notebooks/00_start_the_lab.ipynb"
# What `make test` runs, narrowed to the parts a learner's work touches (about 20 s).
SELECTION = (
    "test_course or 00_start_the_lab or (harness and not passes_on_the_solution and "
    "(ex01 or ex03 or ex04 or first_failure))"
)


def _git(copy: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=course",
            "-c",
            "user.email=course@lab.test",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=copy,
        check=True,
        capture_output=True,
    )


def _learner_output(exercise: str, path: str) -> dict:
    """A check cell's output as the learner's run shows it: solved."""
    text = f"{exercise} · all {SOLVED[exercise]} checks pass ✓   ({path})\n  ✓ ..."
    return nbformat.v4.new_output("execute_result", {"text/plain": text}, execution_count=41)


def _autosave(path: Path) -> None:
    """Save the notebook as JupyterLab does after a learner's session with it."""
    nb = nbformat.read(path, as_version=4)
    for number, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = 40 + number  # a second session's counts
        cell.metadata["execution"] = {
            "iopub.execute_input": "2026-03-01T10:00:00.000Z",
            "shell.execute_reply": "2026-03-01T10:00:00.500Z",
        }
        cell.metadata["scrolled"] = True
        for exercise in re.findall(r'check\("(ex\d\d)"\)', cell.source):
            if exercise in SOLVED:
                cell.outputs = [_learner_output(exercise, f"exercises/{exercise}_....py")]
    nb.metadata["language_info"]["version"] = "3.12.9"
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {},
            "version_major": 2,
            "version_minor": 0,
        }
    }
    out, cell = nbformat.v4.new_output, nbformat.v4.new_code_cell
    nb.cells[-1:-1] = [  # the learner's own cells, before the bottom links
        cell("print(lab.url)", outputs=[out("stream", name="stdout", text="http://127.0.0.1:5")]),
        cell(
            "lab.http.get('/whomai', auth=alise)",
            outputs=[
                out("error", ename="NameError", evalue="name 'alise' is not defined", traceback=[])
            ],
        ),
        cell(
            "import warnings; warnings.warn('mine')",
            outputs=[out("stream", name="stderr", text="UserWarning: mine\n")],
        ),
    ]
    nbformat.write(nb, path)


OLD_NAME = (
    "notebooks/04_combine_cookies_and_tokens.ipynb is this course's old name for "
    "05_combine_cookies_and_tokens.ipynb"
)


def _make_learners_copy(tmp_path: Path) -> Path:
    copy = here().export(tmp_path / "course")
    _git(copy, "init", "-q")
    _git(copy, "add", "-A")
    _git(copy, "commit", "-q", "-m", "the course")
    for exercise in SOLVED:
        stub = next((copy / "exercises").glob(f"{exercise}_*.py"))
        shutil.copy(copy / "solutions" / stub.name, stub)
    for path in sorted((copy / "notebooks").glob("0[0-2]_*.ipynb")):
        _autosave(path)
    untitled = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")])
    nbformat.write(untitled, copy / "notebooks" / "Untitled.ipynb")
    (copy / "exercises" / "ex01_backup.py").write_text("def lookup_session(:  # half done\n")
    # A copy unpacked over an older one keeps a chapter under the name it had before chapter 04.
    shutil.copy(
        copy / "notebooks" / "05_combine_cookies_and_tokens.ipynb",
        copy / "notebooks" / "04_combine_cookies_and_tokens.ipynb",
    )
    return copy


def _make_test(copy: Path) -> subprocess.CompletedProcess:
    """``make test`` in ``copy`` (its selection), as a learner's shell would run it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LAB_", "PYTEST_")) and k not in ("PYTHONPATH", "REDIS_URL")
    }
    # The learner works on a hub: links there go through its proxy, and notebook 00's saved
    # link is a laptop's, so strict nbval must run the kernels with a laptop's links.
    env["JUPYTERHUB_SERVICE_PREFIX"] = "/user/learner/"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_exercise_harness.py",
            "tests/test_course.py",
            "notebooks",
            "-k",
            SELECTION,
            "-v",
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _outcomes(stdout: str, test: str) -> list[str]:
    """Outcomes of ``test`` in pytest -v output; NB00 gives those of notebook 00's cells."""
    pattern = r"00_start_the_lab\S*::Cell \d+" if test == NB00 else re.escape(test)
    return re.findall(rf"{pattern} (PASSED|FAILED|SKIPPED|ERROR)", stdout)


def _snapshot(copy: Path) -> dict[str, bytes]:
    files = [p for folder in ("exercises", "notebooks") for p in (copy / folder).glob("*")]
    return {str(p.relative_to(copy)): p.read_bytes() for p in files if p.is_file()}


@pytest.mark.skipif(not here().git, reason="this copy is not a git checkout: the test needs git")
def test_a_learners_copy_passes_make_test_and_says_what_is_solved(tmp_path):
    copy = _make_learners_copy(tmp_path)
    before = _snapshot(copy)
    nb00 = nbformat.reads(here().course_text(NB00), as_version=4)
    code_cells = sum(c.cell_type == "code" for c in nb00.cells)

    run = _make_test(copy)  # a git checkout
    out = run.stdout
    assert run.returncode == 0, out[-6000:] + run.stderr[-2000:]
    assert f"exercises solved: ex01, ex03, ex04 (3 of {EXERCISES}; this run checked 3)" in out
    assert "Your work, left as it is (it differs from the course's commit, HEAD):" in out
    assert OLD_NAME in out
    assert "  exercises/ ex01_backup.py, ex01_session_lookup.py, ex03_session_rotation.py, " in out
    assert _outcomes(out, NB00) == ["PASSED"] * code_cells, "strict nbval, every cell"
    for exercise in SOLVED:  # the committed stub is what fails its suite
        test = f"test_every_check_fails_on_the_untouched_stub[{exercise}]"
        assert _outcomes(out, test) == ["PASSED"]
    assert "Untitled.ipynb::" not in out and "FAILED" not in out and "SKIPPED" not in out
    assert _snapshot(copy) == before, "the tests changed the learner's files"

    shutil.rmtree(copy / ".git")  # the same files from a zip download
    run = _make_test(copy)
    out = run.stdout
    assert run.returncode == 0, out[-6000:] + run.stderr[-2000:]
    assert f"exercises solved: ex01, ex03, ex04 (3 of {EXERCISES}; this run checked 3)" in out
    assert "This copy is not a git checkout" in out
    assert OLD_NAME in out and "04_combine_cookies_and_tokens.ipynb::" not in out
    assert _outcomes(out, NB00) == ["PASSED"] * code_cells + ["SKIPPED"] * 3, "yours skip"
    assert _outcomes(out, "test_every_check_fails_on_the_untouched_stub[ex01]") == ["SKIPPED"]
    assert "Untitled" not in out and "FAILED" not in out
    assert _snapshot(copy) == before, "the tests changed the learner's files"
