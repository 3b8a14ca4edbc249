"""The notebooks as a course: names, links, kernels, committed outputs, the sanitize file."""

import json
import re

import nbformat
import pytest

from labserver.course import CHAPTERS, NOTEBOOKS, out_of_sync
from labserver.jupyter import jupyter_env, lab_command

NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_every_notebook_is_a_chapter_of_the_map():
    names = {c.filename for c in CHAPTERS}
    assert NOTEBOOK_FILES, "notebooks/ is empty"
    for path in NOTEBOOK_FILES:
        assert re.fullmatch(r"\d\d_[a-z_]+\.ipynb", path.name)
        assert path.name in names, f"{path.name} is not in labserver/course.py CHAPTERS"


def test_map_and_links_are_in_sync():
    assert out_of_sync(write=False) == [], "run: .venv/bin/python -m labserver sync-course"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_notebook_is_committed_runnable_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb.metadata, "widget state is random ids; execute with make notebooks"
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert any(c.outputs for c in code), "committed without outputs"
    for cell in code:
        expected_error = "raises-exception" in cell.metadata.get("tags", [])
        for out in cell.outputs:
            assert expected_error or out.output_type != "error", f"unexpected error in: {cell.source[:60]}"
            assert not (out.output_type == "stream" and out.name == "stderr"), \
                f"stderr output (a warning?) in: {cell.source[:60]}"
            text = json.dumps(out)
            assert "/work/" not in text and "/home/" not in text, "machine-specific path in an output"
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("#")]
    assert headings[0].startswith(f"# {path.name[:2]} · "), "first heading: '# NN · Title'"
    assert any(h.startswith("## Summary") for h in headings)
    assert any("On your own" in c.source for c in nb.cells if c.cell_type == "markdown")


def test_ignored_outputs_stay_few():
    ignored = sum("nbval-ignore-output" in c.metadata.get("tags", [])
                  for p in NOTEBOOK_FILES for c in nbformat.read(p, as_version=4).cells)
    assert ignored <= 2 * len(NOTEBOOK_FILES)


def test_sanitize_file_is_small_and_well_formed():
    lines = [line for line in (NOTEBOOKS / "sanitize.cfg").read_text().splitlines() if line.strip()]
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
