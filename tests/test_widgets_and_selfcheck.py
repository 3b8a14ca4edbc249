"""Widgets are plain Python underneath; the self-check reads the real pins."""

import sys
from pathlib import Path
from unittest.mock import ANY

from labserver.selfcheck import pinned_versions, self_check, supported_pythons
from labserver.widgets import WidgetRoundTrip


def test_round_trip_label_follows_the_slider():
    widget = WidgetRoundTrip(value=2)
    assert widget.label.value == "the kernel saw 2"
    widget.slider.value = 9
    assert widget.label.value == "the kernel saw 9"
    assert widget._repr_mimebundle_()["text/plain"].startswith("WidgetRoundTrip")


def test_pins_are_read_from_requirements(tmp_path: Path):
    req = tmp_path / "requirements.txt"
    req.write_text(
        "# c\nFlask==3.1.3\njupyterlab_widgets==3.0.17\ntomli==2.5.0 ; python_version < "
        "'3.11'\n-r other.txt\n"
    )
    assert pinned_versions(req) == {"flask": "3.1.3", "jupyterlab-widgets": "3.0.17"}


def test_of_two_pins_split_by_a_marker_the_one_for_this_python_counts(tmp_path: Path):
    req = tmp_path / "requirements.txt"
    req.write_text(
        'numpy==2.2.6 ; python_version < "3.11"\n'
        'numpy==2.5.5 ; python_version >= "3.11"\n'
        'cryptography==50.0.2 ; sys_platform != "nonesuch"\n'
        'cryptography==48.0.1 ; sys_platform == "nonesuch"\n'
    )
    assert pinned_versions(req) == {"numpy": "2.5.5", "cryptography": "50.0.2"}


def test_the_python_row_follows_the_makefile(tmp_path: Path):
    makefile = tmp_path / "Makefile"
    makefile.write_text("PYTHON ?= python3\nSUPPORTED_PYTHONS := 3.11 3.12 3.13\n")
    assert supported_pythons(makefile) == ["3.11", "3.12", "3.13"]
    assert "%d.%d" % sys.version_info[:2] in supported_pythons()


def test_self_check_passes_in_the_course_environment():
    report = self_check()
    assert report.ok, report.text()
    assert "Ready for the course." in report.text()
    assert {what for _, what, _ in report.rows} >= {"Python", "PyJWT", "widget front end"}


def test_self_check_says_which_browser_chapters_07_and_08_will_drive(monkeypatch):
    import labserver.browser.driver as driver

    rows = {what: (ok, detail) for ok, what, detail in self_check().rows}
    found = driver.find_chromium()
    assert rows["browser (chapters 07, 08)"] == (True, f"Chromium at {found}" if found else ANY)
    monkeypatch.setattr(driver, "find_chromium", lambda: None)
    rows = {what: (ok, detail) for ok, what, detail in self_check().rows}
    ok, detail = rows["browser (chapters 07, 08)"]
    assert ok and detail == driver.HOW_TO_GET_ONE, "optional, and it says how to get one"
