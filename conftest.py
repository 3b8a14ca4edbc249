"""Settings for every pytest run in this folder: unit tests, exercise suites and nbval.

* ``--impl exercises`` (or ``LAB_IMPL=exercises``) runs the exercise suites against the
  learner's files in ``exercises/`` instead of ``solutions/``.
* Nothing a test does may leave the machine: connections to any host but loopback fail.
* Notebooks always run against the embedded store, so their committed outputs hold; a
  ``REDIS_URL`` in the environment is for ``tests/`` only (see tests/conftest.py).

**A learner's copy.** ``make test`` tests the course, and reports the learner's progress; it
never fails because of it. A learner changes files in ``exercises/`` (solutions) and
``notebooks/`` (JupyterLab saves their runs, outputs and cells into them). Where git says such a
file differs from the course's commit (``HEAD``, or ``$LAB_COURSE_REF``; see
labserver/course_copy.py), the tests use the committed version and leave the learner's alone:

* strict nbval runs the committed notebook (its cells and saved outputs), and its kernel's
  ``check("exNN")`` and ``import exercises...`` see the committed stubs, so every output is
  compared, exactly as on an instructor's clean checkout; a notebook the course does not have
  (``Untitled.ipynb``) is not collected;
* the exercise harness checks that each committed stub fails its suite, and runs the suite on
  the learner's own file only to report it: the summary at the end lists what is solved.

``LAB_AS_ON_DISK=1``, or naming a notebook on the command line (``pytest notebooks/03_x.ipynb``,
a course developer's check after ``make notebooks``), tests every file as it is on disk instead.
A copy that is not a git checkout (a zip download) has no committed version: notebooks are run
without comparing outputs (nbval's lax mode), cells that are not the course's (cell ids other
than ``c<number>``, which JupyterLab gives new cells) are skipped, and the stub checks skip
where a stub may hold the learner's work. The summary says so.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
CHAPTER_NOTEBOOK = re.compile(r"\d\d_[a-z_]+\.ipynb")
COURSE_CELL_ID = re.compile(r"c\d+")  # the course's notebooks number their cells c00, c01, ...

# Moved aside for tests/ (see tests/conftest.py), so the notebook kernels nbval starts never see it.
if os.environ.get("REDIS_URL"):
    os.environ["LAB_TEST_REDIS_URL"] = os.environ.pop("REDIS_URL")

# Kernels started by nbval must import labserver even without `make`'s .pth file.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)

# Kept light: every check("exNN") runs a pytest that loads this file. Course state (a few git
# commands) and nbval are only looked at once a notebook or the summary needs them.
_PROGRESS = pytest.StashKey[dict]()  # exercise -> (the learner's CheckReport, changed by them)
_STATE = pytest.StashKey[dict]()  # "course": CourseCopy, "stubs_dir": Path of committed stubs


def pytest_addoption(parser):
    parser.addoption(
        "--impl",
        default=os.environ.get("LAB_IMPL", "solutions"),
        help="folder whose modules the exercise suites test: solutions (default), exercises, "
        "or a path (default from $LAB_IMPL)",
    )


def pytest_configure(config):
    _allow_only_loopback()
    config.stash[_STATE] = {}
    config.stash[_PROGRESS] = {}
    if any(str(arg).split("::")[0].endswith(".ipynb") for arg in config.args):
        os.environ.setdefault("LAB_AS_ON_DISK", "1")  # a notebook named: test it as it is


def pytest_unconfigure(config):
    stubs = config.stash.get(_STATE, {}).get("stubs_dir")
    if stubs is not None:
        shutil.rmtree(stubs.parent, ignore_errors=True)


def _course(config):
    """This copy of the course (labserver.course_copy), looked at once."""
    state = config.stash[_STATE]
    if "course" not in state:
        from labserver.course_copy import here

        try:
            state["course"] = here()
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    return state["course"]


@pytest.fixture(scope="session")
def course(request):
    """This copy of the course: which files are the learner's, the course's version of each."""
    return _course(request.config)


@pytest.fixture(scope="session")
def exercise_progress(request):
    """Where the exercise harness records what check() says of each of the learner's files."""
    return request.config.stash[_PROGRESS]


# --- notebooks: the course's version under strict nbval --------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    collectors = yield
    if file_path.suffix != ".ipynb" or not collectors:
        return collectors
    from nbval.plugin import IPyNbFile

    if not any(isinstance(c, IPyNbFile) for c in collectors):
        return collectors
    course = _course(parent.config)
    if course.renamed(file_path):
        return [c for c in collectors if not isinstance(c, IPyNbFile)]  # an old chapter's name
    if not course.as_on_disk and (
        course.is_new(file_path)
        or (not course.git and not CHAPTER_NOTEBOOK.fullmatch(file_path.name))
    ):
        return [c for c in collectors if not isinstance(c, IPyNbFile)]  # not the course's
    notebook = _course_notebook_class().from_parent(parent, path=file_path)
    if course.uses_committed and course.is_yours(file_path):
        notebook.committed_text = course.course_text(file_path)
    if not course.git and not course.as_on_disk:
        notebook.compare_outputs = False  # nothing to tell the learner's outputs from the course's
        notebook.only_course_cells = True
    return [notebook if isinstance(c, IPyNbFile) else c for c in collectors]


_NOTEBOOK_CLASS = []


def _course_notebook_class():
    """nbval's notebook collector, reading the course's version of the notebook, and starting
    its kernel with the course's stubs in place of the learner's exercises when those differ."""
    if _NOTEBOOK_CLASS:
        return _NOTEBOOK_CLASS[0]
    import types

    import nbformat
    import nbval.plugin

    class CourseNotebook(nbval.plugin.IPyNbFile):
        committed_text: str | None = None  # the course's version, to test instead of the file's
        only_course_cells = False  # skip cells whose id is not the course's c<number>

        def collect(self):
            if self.committed_text is None:
                items = list(super().collect())
            else:
                reader = types.SimpleNamespace(
                    read=lambda _path, as_version: nbformat.reads(
                        self.committed_text, as_version=as_version
                    )
                )
                saved, nbval.plugin.nbformat = nbval.plugin.nbformat, reader
                try:
                    items = list(super().collect())
                finally:
                    nbval.plugin.nbformat = saved
            no_browser = _missing_browser(self.path.name)
            for item in items:
                if no_browser:
                    item.add_marker(pytest.mark.skip(reason=no_browser))
                elif self.only_course_cells and not COURSE_CELL_ID.fullmatch(
                    item.cell.get("id", "")
                ):
                    item.add_marker(
                        pytest.mark.skip(
                            reason=(
                                f"not a cell of the course (its id is {item.cell.get('id')!r}, not "
                                "c<number>): yours, so not run; without git only the course's "
                                "cells are"
                            )
                        )
                    )
            return items

        def setup(self):
            with _environ(_kernel_env(self.config)):
                super().setup()

    _NOTEBOOK_CLASS.append(CourseNotebook)
    return CourseNotebook


def _missing_browser(notebook: str) -> str:
    """Why ``notebook``'s cells cannot run here (its chapter drives Chromium and there is none),
    or "". With ``LAB_REQUIRE_BROWSER=1`` (CI) the cells run, and fail, instead."""
    from labserver.course import CHAPTERS

    needs = any(c.filename == notebook and c.needs_browser for c in CHAPTERS)
    if not needs or os.environ.get("LAB_REQUIRE_BROWSER") == "1":
        return ""
    from labserver.browser.driver import HOW_TO_GET_ONE, find_chromium

    return "" if find_chromium() else f"this chapter drives Chromium, and there is {HOW_TO_GET_ONE}"


def _kernel_env(config) -> dict[str, str | None]:
    """Environment for a notebook kernel: the committed stubs first, if the learner's differ;
    without what would change the saved outputs (``KERNEL_UNSET``: ``None`` unsets a variable)."""
    from labserver.jupyter import KERNEL_UNSET

    course, state = _course(config), config.stash[_STATE]
    changes: dict[str, str | None] = dict.fromkeys(KERNEL_UNSET)
    if not (course.uses_committed and course.yours("exercises")):
        return changes
    if "stubs_dir" not in state:
        folder = Path(tempfile.mkdtemp(prefix="lab-course-stubs-"))
        state["stubs_dir"] = course.export(folder, folders=("exercises",)) / "exercises"
    stubs = state["stubs_dir"]
    return {
        **changes,
        "LAB_EXERCISES_DIR": str(stubs),
        "PYTHONPATH": os.pathsep.join([str(stubs.parent), os.environ.get("PYTHONPATH", "")]),
    }


@contextmanager
def _environ(changes: dict[str, str | None]):
    saved = {name: os.environ.get(name) for name in changes}
    for name, value in changes.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- the summary at the end: the learner's progress, and what was tested instead of their files


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    progress = config.stash.get(_PROGRESS, {})
    course = config.stash.get(_STATE, {}).get("course")
    if not progress and course is None:
        return
    course = course or _course(config)
    lines = _progress_lines(progress, course) if progress else []
    lines += _copy_lines(course)
    if lines:
        terminalreporter.write_sep("=", "your copy of the course")
        for line in lines:
            terminalreporter.write_line(line)


def _progress_lines(progress: dict, course) -> list[str]:
    """Which exercises are solved, which are started, and where the next one is checked."""
    solved = [ex for ex, (report, _) in sorted(progress.items()) if report.ok]
    started = [
        f"{ex} ({report.passed} of {report.total} checks pass)"
        if not report.error
        else f"{ex} (it does not run yet: check('{ex}') says why)"
        for ex, (report, yours) in sorted(progress.items())
        if yours and not report.ok
    ]
    known = len({p.name[:4] for p in course.course_files("exercises", "ex[0-9][0-9]_*.py")})
    of = f"{len(solved)} of {known}"
    if len(progress) < known:
        of += f"; this run checked {len(progress)}"
    lines = [f"exercises solved: {', '.join(solved) or 'none yet'} ({of})"]
    if started:
        lines.append("started: " + ", ".join(started))
    todo = [ex for ex, (report, _) in sorted(progress.items()) if not report.ok]
    if todo:
        from labserver.checking import suite_path

        home, suite = _check_cells(course).get(todo[0]), suite_path(todo[0])
        where = f" in notebook {home}" if home else ""
        terminal = (
            f", or: .venv/bin/python -m pytest {suite.relative_to(ROOT)} --impl exercises"
            if suite
            else ""
        )
        lines.append(f'next: {todo[0]}, check("{todo[0]}"){where}{terminal}')
    elif solved:
        lines.append("every exercise this run checked is solved: well done!")
    return lines


def _check_cells(course) -> dict[str, str]:
    """exercise -> the notebook (its number) whose check cell checks it, chapter notebooks first."""
    homes: dict[str, str] = {}
    for path in course.course_files("notebooks", "*.ipynb"):
        try:
            cells = json.loads(course.course_text(path))["cells"]
        except (ValueError, KeyError, OSError):
            continue
        for cell in cells:
            source = "".join(cell.get("source", ""))
            for exercise in re.findall(r"""check\(["'](ex\d\d)["']\)""", source):
                if exercise not in homes or homes[exercise] == "00":
                    homes[exercise] = path.name[:2]
    return homes


def _copy_lines(course) -> list[str]:
    """What was tested in place of the learner's files, or why nothing could be."""
    from labserver.course import RENAMED

    old = [
        f"notebooks/{name} is this course's old name for {RENAMED[name]}; it was not tested "
        "(keep it for your notes, or delete it)."
        for name in sorted(RENAMED)
        if (course.root / "notebooks" / name).exists() and course.renamed(f"notebooks/{name}")
    ]
    return old + _copy_state_lines(course)


def _copy_state_lines(course) -> list[str]:
    if not course.git:
        return [
            (
                "This copy is not a git checkout (a zip download?), so the tests cannot tell "
                "your work from the course's files: the notebooks were run without comparing "
                "their outputs, and a stub's own check was skipped where it may hold your work. "
                "A git clone of the course gets every check."
            )
        ]
    yours = course.yours()
    if not yours:
        return []
    lines = [
        f"  {folder}/ {', '.join(n.split('/', 1)[1] for n in course.yours(folder))}"
        for folder in ("exercises", "notebooks")
        if course.yours(folder)
    ]
    if course.as_on_disk:
        return [
            (
                f"Tested as they are on disk (LAB_AS_ON_DISK=1, or a notebook named), these "
                f"differ from the course's commit ({course.ref}):"
            ),
            *lines,
            (
                "In them, a different saved output can be your progress (a solved check, "
                "JupyterLab's autosave), not a fault; `make test` tests the committed versions."
            ),
        ]
    return [
        f"Your work, left as it is (it differs from the course's commit, {course.ref}):",
        *lines,
        (
            "The tests used the committed versions instead: each notebook's cells and saved "
            "outputs, run with the committed exercise stubs; files the course does not have were "
            "not tested. To test every file as it is on disk: LAB_AS_ON_DISK=1 make test"
        ),
    ]


def _allow_only_loopback() -> None:
    """Refuse, with a clear error, any TCP/UDP connection to a non-loopback address."""
    if getattr(socket.socket.connect, "_lab_loopback_only", False):
        return
    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock: socket.socket, address) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return  # unix sockets are local by nature
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ConnectionRefusedError(
                f"the course's tests stay on loopback; refused a connection to {host!r}"
            )

    def connect(self, address):
        check(self, address)
        return original_connect(self, address)

    def connect_ex(self, address):
        check(self, address)
        return original_connect_ex(self, address)

    connect._lab_loopback_only = True
    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
