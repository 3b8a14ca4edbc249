"""``python -m labserver grade DIR...``: every exercise suite against each learner's folder.

Each DIR is one learner's copy of ``exercises/``. Every suite runs through
:func:`labserver.checking.run_suite`, so in a process of its own (a fork of the warm check
worker, in a process group of its own) that is killed at the time limit: an endless loop is a
"timed out", and a file that exits, kills its parent or crashes is "could not run", and the next
suite starts a fresh worker. Before the first suite this process lowers its own resource limits,
which the worker and every check inherit: address space (``--memory``) and the size of any file
written (a flood of output fills a log file, not the disk).

``--jobs N`` grades N learners at once, each in a forked process with its own warm worker
(×1.8 for 2 on 2 cores, measured on four learners).

What it cannot stop: a submission runs as the grader's user, so it can read the environment and
files, or signal any process that user owns. Grade untrusted code in a container or as a user
of its own.
"""

from __future__ import annotations

import csv
import multiprocessing
import multiprocessing.connection
import os
import resource
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MISSING, PASSED, FAILED, ERROR, TIMEOUT = "missing", "passed", "failed", "error", "timeout"
SYMBOLS = {PASSED: "✓", FAILED: "✗", ERROR: "!", TIMEOUT: "⏱", MISSING: "–"}
SAID = {FAILED: "failed", ERROR: "could not run", TIMEOUT: "timed out", MISSING: "not submitted"}
LEGEND = "✓ passes · ✗ a check fails · ! could not run · ⏱ timed out · – not submitted"
CSV_FIELDS = ["learner", "exercise", "status", "passed", "total", "first_failure"]
#: How run_suite words a suite killed at its time limit (checked by tests/test_grade.py).
TIMEOUT_TEXT = "the checks did not finish within"


@dataclass(frozen=True)
class Grade:
    """One learner's result on one exercise."""

    learner: str
    exercise: str
    status: str  # one of MISSING, PASSED, FAILED, ERROR, TIMEOUT
    passed: int = 0
    total: int = 0
    first_failure: str = ""


def exercises(root: Path) -> dict[str, str]:
    """Every exercise with a suite: ``{"ex01": "ex01_session_lookup.py", ...}``."""
    suites = sorted((root / "tests" / "exercises").glob("test_ex[0-9][0-9]_*.py"))
    return {p.name[5:9]: p.name.removeprefix("test_") for p in suites}


def learner_names(folders: list[Path]) -> list[str]:
    """A name per folder: its own name, or its parent's for a folder called ``exercises``
    (``class/alice/exercises`` is alice). Raises ValueError when two folders get one name."""
    names = [f.parent.name if f.name == "exercises" and f.parent.name else f.name for f in folders]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"two folders have the learner name {repeated[0]!r}: rename one")
    return names


def limit_resources(memory_mb: int, file_mb: int) -> None:
    """Lower this process's address space and file size limits (inherited by every check).
    The limits are only lowered, never raised; a limit the system refuses is left as it is."""
    for limit, mb in ((resource.RLIMIT_AS, memory_mb), (resource.RLIMIT_FSIZE, file_mb)):
        if mb <= 0:
            continue
        soft, hard = resource.getrlimit(limit)
        new = mb * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            new = min(new, hard)
        if soft == resource.RLIM_INFINITY or new < soft:
            try:
                resource.setrlimit(limit, (new, hard))
            except (ValueError, OSError):
                pass


def grade_one(learner: str, folder: Path, exercise: str, module: str, timeout: float) -> Grade:
    """Run ``exercise``'s suite against ``folder``, as a Grade."""
    if not (folder / module).is_file():
        return Grade(learner, exercise, MISSING)
    from .checking import run_suite

    report = run_suite(exercise, str(folder), timeout=timeout)
    if report.error:
        status = TIMEOUT if report.error.startswith(TIMEOUT_TEXT) else ERROR
        return Grade(learner, exercise, status, 0, 0, clean(report.error))
    if report.ok:
        return Grade(learner, exercise, PASSED, report.passed, report.total)
    first = next(r for r in report.results if not r.passed)
    why = first.problem or first.outcome
    return Grade(
        learner, exercise, FAILED, report.passed, report.total, clean(f"{first.doc}: {why}")
    )


def _grade_learner(
    learner: str,
    folder: Path,
    names: list[str],
    known: dict[str, str],
    timeout: float,
    on_grade=None,
) -> list[Grade]:
    """Every exercise in ``names`` for one learner; ``on_grade(grade)`` after each."""
    grades = []
    for exercise in names:
        grades.append(grade_one(learner, folder, exercise, known[exercise], timeout))
        if on_grade is not None:
            on_grade(grades[-1])
    return grades


def _said(grade: Grade, progress) -> None:
    print(f" {grade.exercise}{SYMBOLS[grade.status]}", end="", file=progress, flush=True)


def _in_parallel(work: list[tuple], names: list[str], jobs: int, progress) -> dict:
    """Learner -> grades, each learner graded in a forked process of its own (after this
    process lowered its limits, so it inherits them), ``jobs`` at a time. A grader that a
    submission kills costs that learner's row only."""
    context = multiprocessing.get_context("fork")
    pending, running, done = list(work), {}, {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                task = pending.pop(0)
                reader, writer = context.Pipe(duplex=False)
                grader = context.Process(target=_grade_into, args=(writer, *task))
                grader.start()
                writer.close()
                running[reader] = (task[0], grader)
            for reader in multiprocessing.connection.wait(list(running)):
                learner, grader = running.pop(reader)
                try:
                    done[learner] = reader.recv()
                except (EOFError, OSError):  # it ended without an answer
                    grader.join()
                    why = f"the grading process ended (exit code {grader.exitcode})"
                    done[learner] = [Grade(learner, e, ERROR, 0, 0, why) for e in names]
                reader.close()
                grader.join()
                marks = " ".join(f"{g.exercise}{SYMBOLS[g.status]}" for g in done[learner])
                print(f"graded {learner}: {marks}", file=progress, flush=True)
    finally:  # an interrupt: no grader left running
        for _, grader in running.values():
            grader.kill()
            grader.join()
    return done


def _grade_into(writer, *task) -> None:
    """A ``--jobs`` grader: one learner's grades, sent back on ``writer``."""
    writer.send(_grade_learner(*task))
    writer.close()


def clean(text: str, limit: int = 300) -> str:
    """One line of printable text, at most ``limit`` characters: a learner's exception message
    may hold terminal escapes, newlines or a megabyte."""
    text = " ".join(text.split())
    text = "".join(
        c if unicodedata.category(c)[0] != "C" else f"\\x{ord(c):02x}" for c in text[: limit * 2]
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table(grades: list[Grade], learners: list[str], names: list[str]) -> str:
    """The class table (an exercise per row, a learner per column), the legend, a summary line
    per learner, and the first failing check of each ✗/!/⏱ as a numbered note."""
    cell = {(g.learner, g.exercise): g for g in grades}
    notes: list[str] = []
    marks: dict[tuple[str, str], str] = {}
    for exercise in names:  # numbered row by row, as they are read
        for learner in learners:
            g = cell[learner, exercise]
            marks[learner, exercise] = SYMBOLS[g.status]
            if g.first_failure:
                notes.append(f"[{len(notes) + 1}] {learner} {exercise}: {g.first_failure}")
                marks[learner, exercise] += str(len(notes))
    width = max(len(n) for n in names)
    cols = [max(len(n), *(len(marks[n, e]) for e in names)) for n in learners]
    lines = [
        " " * width + "  " + "  ".join(n.ljust(w) for n, w in zip(learners, cols, strict=True))
    ]
    for exercise in names:
        row = [marks[n, exercise].ljust(w) for n, w in zip(learners, cols, strict=True)]
        lines.append((exercise.ljust(width) + "  " + "  ".join(row)).rstrip())
    lines += ["", LEGEND, ""]
    for learner in learners:
        mine = [g for g in grades if g.learner == learner]
        counts = {s: sum(g.status == s for g in mine) for s in SYMBOLS}
        extra = ", ".join(
            f"{counts[s]} {SAID[s]}" for s in (FAILED, ERROR, TIMEOUT, MISSING) if counts[s]
        )
        lines.append(
            f"{learner}: {counts[PASSED]} of {len(mine)} pass" + (f" ({extra})" if extra else "")
        )
    if notes:
        lines += ["", "First failing check:"] + notes
    return "\n".join(lines)


def write_csv(path: Path, grades: list[Grade]) -> None:
    """One row per learner × exercise. Text cells that a spreadsheet would read as a formula
    (=, +, -, @ first) get a leading apostrophe."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        for g in grades:
            writer.writerow(
                [
                    _no_formula(g.learner),
                    g.exercise,
                    g.status,
                    g.passed,
                    g.total,
                    _no_formula(g.first_failure),
                ]
            )


def _no_formula(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def grade(
    folders: list[Path],
    *,
    only: list[str] | None = None,
    timeout: float = 30.0,
    csv_path: Path | None = None,
    memory_mb: int = 2048,
    file_mb: int = 64,
    jobs: int = 1,
    progress=sys.stderr,
) -> str:
    """Grade every learner's folder; return the table (and write the CSV). Raises ValueError
    for a folder that does not exist, a repeated learner name or an unknown exercise.

    Lowers this process's resource limits for good (see :func:`limit_resources`): it is meant
    for the command's own process, not for a kernel or a test run."""
    known = exercises(ROOT)
    names = list(dict.fromkeys(only or known))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"no exercise {unknown[0]!r}; there are: {', '.join(known)}")
    for folder in folders:
        if not folder.is_dir():
            raise ValueError(f"{folder}: not a folder (each DIR is one learner's exercises/)")
    if csv_path is not None and not csv_path.parent.is_dir():  # said now, not after the run
        raise ValueError(f"--csv {csv_path}: no folder {csv_path.parent}")
    folders = [f.resolve() for f in folders]
    learners = learner_names(folders)
    limit_resources(memory_mb, file_mb)
    if "labserver.checking" in sys.modules:  # its worker started before the limits were lowered
        sys.modules["labserver.checking"]._WORKER.stop()  # run_suite starts it again, limited
    grades = []
    pairs = zip(learners, folders, strict=True)
    work = [(learner, folder, names, known, timeout) for learner, folder in pairs]
    jobs = min(jobs, len(work)) if hasattr(os, "fork") else 1
    if jobs <= 1:
        for task in work:
            print(f"grading {task[0]} ({task[1]})", end="", file=progress, flush=True)
            grades += _grade_learner(*task, on_grade=lambda g: _said(g, progress))
            print(file=progress, flush=True)
    else:
        print(f"grading {len(work)} learners, {jobs} at a time", file=progress, flush=True)
        done = _in_parallel(work, names, jobs, progress)
        grades = [g for learner in learners for g in done[learner]]
    if csv_path is not None:
        write_csv(csv_path, grades)
    return table(grades, learners, names)
