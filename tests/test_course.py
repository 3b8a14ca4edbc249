"""The notebooks as a course: names, links, kernels, committed outputs, the sanitize file.

On a learner's copy these are the course's notebooks as committed (labserver/course_copy.py):
JupyterLab's autosave of the learner's runs, and notebooks of their own, are not checked here.
"""

import json
import re

import nbformat
import pytest

from labserver import course as course_map
from labserver.course import CHAPTERS, NOTEBOOKS, out_of_sync
from labserver.course_copy import here
from labserver.jupyter import jupyter_env, lab_command

COURSE = here()
NAME = re.compile(r"\d\d_[a-z_]+\.ipynb")
# Without git, a notebook not named like a chapter can only be the learner's own.
NOTEBOOK_FILES = [
    p
    for p in COURSE.course_files("notebooks", "*.ipynb")
    if COURSE.git or COURSE.as_on_disk or NAME.fullmatch(p.name)
]


def read(path):
    """The course's version of a notebook (the committed one where the learner's differs)."""
    return nbformat.reads(COURSE.course_text(path), as_version=4)


def test_every_notebook_is_a_chapter_of_the_map():
    names = {c.filename for c in CHAPTERS}
    assert NOTEBOOK_FILES, "notebooks/ is empty"
    for path in NOTEBOOK_FILES:
        assert NAME.fullmatch(path.name)
        assert path.name in names, f"{path.name} is not in labserver/course.py CHAPTERS"


def test_map_and_links_are_in_sync(tmp_path, monkeypatch):
    if COURSE.uses_committed and COURSE.yours("notebooks"):  # the course's, not the learner's
        committed = COURSE.export(tmp_path, ("notebooks",)) / "notebooks"
        monkeypatch.setattr(course_map, "NOTEBOOKS", committed)
    assert out_of_sync(write=False) == [], "run: .venv/bin/python -m labserver sync-course"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_notebook_is_committed_runnable_and_clean(path):
    nb = read(path)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    problems = _unclean(nb)
    if problems and not COURSE.git:
        pytest.skip(
            f"{path.name}: {problems[0]}; this copy is not a git checkout, so that may be "
            "JupyterLab's save of your runs: the committed notebook is checked in CI"
        )
    assert problems == []
    headings = [
        c.source.splitlines()[0]
        for c in nb.cells
        if c.cell_type == "markdown" and c.source.startswith("#")
    ]
    assert headings[0].startswith(f"# {path.name[:2]} · "), "first heading: '# NN · Title'"
    assert any(h.startswith("## Summary") for h in headings)
    assert any("On your own" in c.source for c in nb.cells if c.cell_type == "markdown")
    # Without git, the course's cells are told from a learner's by these ids (see conftest.py).
    ids = [c.get("id") for c in nb.cells]
    assert ids == [f"c{i:02d}" for i in range(len(ids))], "cell ids must be c00, c01, ... in order"


def _unclean(nb) -> list[str]:
    """What a committed notebook must not hold: widget state, no outputs, errors, stderr, paths."""
    problems = []
    if "widgets" in nb.metadata:
        problems.append("widget state is random ids; execute with make notebooks")
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    if not any(c.outputs for c in code):
        problems.append("committed without outputs")
    for cell in code:
        expected_error = "raises-exception" in cell.metadata.get("tags", [])
        for out in cell.outputs:
            if not expected_error and out.output_type == "error":
                problems.append(f"unexpected error in: {cell.source[:60]}")
            if out.output_type == "stream" and out.name == "stderr":
                problems.append(f"stderr output (a warning?) in: {cell.source[:60]}")
            text = json.dumps(out)
            if "/work/" in text or "/home/" in text:
                problems.append(f"machine-specific path in an output of: {cell.source[:60]}")
    return problems


def test_ignored_outputs_stay_few():
    ignored = sum(
        "nbval-ignore-output" in c.metadata.get("tags", [])
        for p in NOTEBOOK_FILES
        for c in read(p).cells
    )
    assert ignored <= 2 * len(NOTEBOOK_FILES)


def test_sanitize_file_is_small_and_well_formed():
    text = COURSE.course_text(NOTEBOOKS / "sanitize.cfg")
    lines = [line for line in text.splitlines() if line.strip()]
    regexes = [line for line in lines if line.startswith("regex: ")]
    replaces = [line for line in lines if line.startswith("replace: ")]
    assert len(regexes) == len(replaces) <= 8
    for line in regexes:
        re.compile(line.removeprefix("regex: "))
        assert line == line.rstrip(), "a trailing space becomes part of the regex"


def test_jupyterlab_command_is_loopback_and_offline():
    command = lab_command(port=8888, token="t", browser=False)
    assert "--ServerApp.ip=127.0.0.1" in command
    assert "--LabApp.news_url=None" in command
    assert "--LabApp.extension_manager=readonly" in command
    assert any(arg.endswith("/lab/tree/notebooks/00_start_the_lab.ipynb") for arg in command)


def test_jupyter_env_puts_this_environment_first():
    env = jupyter_env({"JUPYTER_PATH": "/elsewhere", "PATH": "/usr/bin"})
    first = env["JUPYTER_PATH"].split(":")[0]
    assert first.endswith("share/jupyter") and env["JUPYTER_PATH"].endswith("/elsewhere")
