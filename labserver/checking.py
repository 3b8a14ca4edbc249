"""``check("ex01")``: run an exercise's test suite against the learner's file and report.

The suite runs in a fresh Python process (pytest, the same suite CI runs), so the learner's
latest save is what gets tested, and a broken or endless exercise cannot harm the notebook's
kernel. The report shows ✓/✗ per check and, for the first failure, what happened and a hint.
``check`` never raises: an unsolved exercise is a report, not a traceback.

``$LAB_EXERCISES_DIR``, when set, is the folder ``check`` tests instead of ``exercises/``: the
course's tests set it for notebook kernels, so that a learner's solutions do not change the
outputs that strict nbval compares (see the root conftest.py).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60.0  # seconds a whole suite may take before the check gives up


@dataclass(frozen=True)
class CheckResult:
    """One test of a suite: its one-line description, outcome, and what to do if it failed."""

    test: str
    doc: str
    outcome: str  # "passed", "failed" or "skipped"
    problem: str = ""
    hint: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


@dataclass
class CheckReport:
    """The result of checking one exercise; shown as a ✓/✗ report in a notebook."""

    exercise: str
    module: str  # path of the file under test, relative to the course folder
    results: list[CheckResult] = field(default_factory=list)
    error: str = ""  # why the suite could not run at all, if it could not

    @property
    def passed(self) -> int:
        """How many checks pass."""
        return sum(r.passed for r in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def ok(self) -> bool:
        """True when the suite ran and every check passes."""
        return not self.error and self.total > 0 and self.passed == self.total

    def text(self) -> str:
        """The report as plain text (what the notebook shows)."""
        if self.error:
            return f"{self.exercise} · could not be checked ({self.module})\n  {self.error}"
        if self.ok:
            head = f"{self.exercise} · all {self.total} checks pass ✓   ({self.module})"
        else:
            head = f"{self.exercise} · {self.passed} of {self.total} checks pass   ({self.module})"
        lines = [head] + _result_lines(self.results)
        first = next((r for r in self.results if not r.passed), None)
        if first is not None:
            lines += ["", f"First to fix: {first.doc}"]
            if first.problem:
                lines.append(f"  what happened: {first.problem}")
            if first.hint:
                lines.append(f"  hint: {first.hint}")
            lines.append(f"Edit {self.module}, save, and run this cell again.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text())


def _split_case(doc: str) -> tuple[str, str | None]:
    """``"A rule holds. [case]"`` -> ``("A rule holds.", "case")`` (pytest's parametrized ids)."""
    if doc.endswith("]") and " [" in doc:
        base, case = doc[:-1].rsplit(" [", 1)
        return base, case
    return doc, None


def _result_lines(results: list[CheckResult]) -> list[str]:
    """One line per check; the cases of one parametrized check share a line, which says which
    of its cases fail."""
    groups: list[tuple[str, list[tuple[str | None, bool]]]] = []
    for result in results:
        base, case = _split_case(result.doc)
        if case is not None and groups and groups[-1][0] == base and groups[-1][1][0][0]:
            groups[-1][1].append((case, result.passed))
        else:
            groups.append((base, [(case, result.passed)]))
    lines = []
    for base, cases in groups:
        failed = [case for case, passed in cases if not passed]
        if len(cases) == 1:
            case = f" [{cases[0][0]}]" if cases[0][0] is not None else ""
            lines.append(f"  {'✗' if failed else '✓'} {base}{case}")
        elif not failed:
            lines.append(f"  ✓ {base} (all {len(cases)} cases)")
        elif len(failed) == len(cases):
            lines.append(f"  ✗ {base} ({len(cases)} cases)")
        else:
            lines.append(f"  ✗ {base} (fails for: {', '.join(failed)})")
    return lines


def exercises_folder(root: Path = ROOT) -> Path:
    """The folder of the learner's files: ``exercises/``, or ``$LAB_EXERCISES_DIR``."""
    return Path(os.environ.get("LAB_EXERCISES_DIR") or root / "exercises")


def suite_path(exercise: str, root: Path = ROOT) -> Path | None:
    """The test file for ``exercise`` (e.g. ``"ex01"``), or None if there is none."""
    matches = sorted((root / "tests" / "exercises").glob(f"test_{exercise}_*.py"))
    return matches[0] if len(matches) == 1 else None


def run_suite(
    exercise: str, impl: str = "exercises", *, root: Path = ROOT, timeout: float = TIMEOUT
) -> CheckReport:
    """Run ``exercise``'s suite against the modules in ``impl`` (a folder name or path)."""
    suite = suite_path(exercise, root)
    if suite is None:
        known = sorted(
            p.name.split("_")[1] for p in (root / "tests" / "exercises").glob("test_ex*_*.py")
        )
        return CheckReport(
            exercise,
            "?",
            error=f"no exercise called {exercise!r}; there are: {', '.join(known) or 'none'}",
        )
    module_name = suite.stem.removeprefix("test_") + ".py"
    named = {"exercises": exercises_folder(root), "solutions": root / "solutions"}
    folder = named.get(impl, Path(impl))
    module = folder / module_name
    if impl in named:
        shown = f"{impl}/{module_name}"
    else:
        shown = str(module.relative_to(root)) if module.is_relative_to(root) else str(module)
    if not module.is_file():
        return CheckReport(exercise, shown, error=f"{shown} does not exist")

    with tempfile.TemporaryDirectory(prefix="labcheck-") as tmp:
        report_file = Path(tmp) / "report.json"
        env = {
            **os.environ,
            "LAB_CHECK_REPORT": str(report_file),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # 0.3 s instead of 4 s to start
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        }
        argv = [
            str(suite),
            f"--impl={folder}",
            "-p",
            "labserver._check_report",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-q",
            "--no-header",
        ]
        outcome = _WORKER.run(argv, env, str(root), timeout)
        if outcome is None:  # no warm worker here: a fresh Python process, as before
            outcome = _run_fresh(argv, env, root, timeout)
        if outcome == "timeout":
            return CheckReport(
                exercise,
                shown,
                error=(
                    f"the checks did not finish within {timeout:g} s: is there an endless loop, "
                    "or a wait for something that never comes?"
                ),
            )
        if not report_file.exists():
            said = outcome or "it stopped without a word (does the file exit the process?)"
            return CheckReport(exercise, shown, error="pytest could not run: " + said)
        data = json.loads(report_file.read_text(encoding="utf-8"))

    report = CheckReport(exercise, shown, [CheckResult(**r) for r in data["results"]])
    if data["collect_errors"] and not report.results:
        last = data["collect_errors"][0].strip().splitlines()[-1:]
        report.error = "the test suite could not be loaded: " + " ".join(last)
    return report


def _run_fresh(argv: list[str], env: dict, root: Path, timeout: float) -> str:
    """Run pytest in a new Python process; "timeout", or the last lines it wrote."""
    log = Path(env["LAB_CHECK_REPORT"]).with_suffix(".log")  # a file: the output may be huge
    try:
        with log.open("wb") as output:
            subprocess.run(
                [sys.executable, "-m", "pytest", *argv],
                cwd=root,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                start_new_session=True,  # as the worker: the kernel is in no group it can signal
            )
    except subprocess.TimeoutExpired:
        return "timeout"
    return " | ".join(_last_lines(log))


def _last_lines(path: Path, count: int = 3, size: int = 64 * 1024) -> list[str]:
    """The last ``count`` lines of ``path``, read from its last ``size`` bytes only: a file that
    floods stdout fills pytest's log with its captured output, gigabytes of it."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - size))
            return f.read().decode(errors="replace").strip().splitlines()[-count:]
    except OSError:  # no log at all
        return []


class _Worker:
    """The kernel's side of :mod:`labserver._check_worker`: one warm process, started at import
    (it warms up while the notebook's first cells run), restarted if it died."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._ready = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the worker if it is not running (never raises: checks fall back without it)."""
        if not hasattr(os, "fork") or os.environ.get("LAB_CHECK_WORKER") == "0":
            return
        if self._process is not None and self._process.poll() is None:
            return
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "LAB_CHECK_WORKER": "0",  # the worker and its children start no worker of their own
        }
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "labserver._check_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=ROOT,
                env=env,
                text=True,
                bufsize=1,
                start_new_session=True,  # a file that signals its process group misses the kernel
            )
            self._ready = False
        except OSError:
            self._process = None

    def _reply(self, timeout: float) -> dict | None:
        stdout = self._process.stdout
        ready, _, _ = select.select([stdout], [], [], timeout)
        line = stdout.readline() if ready else ""
        return json.loads(line) if line else None

    def run(self, argv: list[str], env: dict, cwd: str, timeout: float) -> str | None:
        """Run one suite in a fork of the warm worker: "timeout", the last lines pytest wrote,
        or None (no worker: the caller runs a fresh process instead)."""
        with self._lock:
            self.start()
            if self._process is None:
                return None
            if not self._ready:
                try:
                    self._ready = (self._reply(30.0) or {}).get("status") == "ready"
                except (OSError, ValueError):
                    pass
                if not self._ready:  # it could not start here: the caller falls back
                    self.stop()
                    return None
            log = Path(env["LAB_CHECK_REPORT"]).with_suffix(".log")
            job = {
                "argv": argv,
                "env": {**env, "LAB_CHECK_WORKER": "0"},
                "cwd": cwd,
                "log": str(log),
                "timeout": timeout,
            }
            try:
                self._process.stdin.write(json.dumps(job) + "\n")
                self._process.stdin.flush()
                reply = self._reply(timeout + 10.0)
            except (OSError, ValueError):
                reply = None
            except BaseException:  # an interrupt: this job's answer must not reach the next check
                self.stop()
                raise
            if reply is None or reply.get("status") not in ("done", "timeout"):
                # Not run again elsewhere: the file under test may be what ended the worker.
                self.stop()
                return "the checking process ended during the checks (does the file exit?)"
            if reply["status"] == "timeout":
                return "timeout"
            return " | ".join(_last_lines(log))

    def stop(self) -> None:
        """Stop the worker (the next check starts a new one)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            for pipe in (self._process.stdin, self._process.stdout):
                pipe.close()
        self._process, self._ready = None, False


_WORKER = _Worker()
_WORKER.start()
atexit.register(_WORKER.stop)


def check(exercise: str) -> CheckReport:
    """Check the learner's solution to ``exercise`` (e.g. ``"ex01"``) and show the report.

    Runs ``tests/exercises/test_<exercise>_*.py`` against ``exercises/``. Never raises.
    """
    try:
        return run_suite(exercise, "exercises")
    except Exception as exc:  # a check cell must never show a traceback
        return CheckReport(
            exercise, "?", error=f"the check itself failed: {type(exc).__name__}: {exc}"
        )
