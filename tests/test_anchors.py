"""Every academy lab the course claims to reproduce maps to a section whose outputs show the attack
succeed against the vulnerable side and fail against the hardened lab."""

from __future__ import annotations

import json
import re

import pytest

from labserver.checking import ROOT
from labserver.course import chapter
from labserver.experiments.anchors import (
    ANCHORS,
    JUICE_SHOP,
    PORTSWIGGER,
    WEBGOAT,
    anchor_markdown,
)

NOTEBOOKS = ROOT / "notebooks"


def _section_outputs(number: str, title: str) -> list[str] | None:
    """The output lines of the cells under the heading "## N · title", or None if none has it."""
    cells = json.loads((NOTEBOOKS / chapter(number).filename).read_text())["cells"]
    lines, inside = [], False
    for cell in cells:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("## "):
                    if inside:
                        return lines
                    inside = re.sub(r"^## \d+ · ", "", line).strip() == title
        elif inside:
            for output in cell.get("outputs", []):
                text = output.get("text") or output.get("data", {}).get("text/plain", "")
                lines += "".join(text).splitlines()
    return lines if inside else None


def test_the_academies_labs_are_all_there():
    counts = {
        academy: sum(a.academy == academy for a in ANCHORS)
        for academy in (PORTSWIGGER, WEBGOAT, JUICE_SHOP)
    }
    # PortSwigger's 8 labs and 2 topics, WebGoat's 7 assignments, Juice Shop's 2 challenges.
    assert counts == {PORTSWIGGER: 10, WEBGOAT: 7, JUICE_SHOP: 2}


@pytest.mark.parametrize("anchor", ANCHORS, ids=lambda a: f"{a.academy}: {a.lab}")
def test_each_anchor_has_a_section_that_shows_both_sides(anchor):
    lines = _section_outputs(anchor.notebook, anchor.section)
    assert lines is not None, f"chapter {anchor.notebook} has no section {anchor.section!r}"
    assert lines, f"the section {anchor.section!r} shows no output"
    if not anchor.attack:
        return
    fell = [line for line in lines if re.search(r"vulnerable.*(accepted|\b200\b)", line)]
    held = [line for line in lines if re.search(r"hardened.*(\b4\d\d\b|refused|holds)", line)]
    assert fell, f"no output of {anchor.section!r} shows the vulnerable side accepting"
    assert held, f"no output of {anchor.section!r} shows the hardened lab refusing"


def test_chapter_09_shows_the_anchor_table_as_it_is():
    table = anchor_markdown(NOTEBOOKS)
    assert "(missing)" not in table
    cells = json.loads((NOTEBOOKS / chapter("09").filename).read_text())["cells"]
    shown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    assert any(table in text for text in shown), (
        "paste labserver.experiments.anchors.anchor_markdown(...) into chapter 09's anchor cell:\n"
        + table
    )
