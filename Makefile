# Two commands for a newcomer (see README.md):
#   make lab    set up .venv if needed, then open the course in JupyterLab at notebook 00
#   make test   set up .venv if needed, then run every test, nbval over the notebooks included
# Both use the system's Chromium for chapters 07 and 08's browser, or put Playwright's own in .venv.
# Nothing is installed outside this folder.

PYTHON ?= python3
# The Pythons the course supports; .ci/check-wheels proves each installs from wheels alone.
SUPPORTED_PYTHONS := 3.11 3.12 3.13 3.14 3.15

# Refuses any other Python (or a free-threaded build) in one line, before anything is installed:
# the one that would make .venv, or the one already in it. Written so that a Python 2 can say so.
define CHECK_PYTHON
import sys, sysconfig
supported = "$(SUPPORTED_PYTHONS)".split()
free = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
found = sys.version.split()[0] + (" (free-threaded)" if free else "")
if free or "%d.%d" % sys.version_info[:2] not in supported:
    where = "$(VENV) has %s. Run: make clean, then" if sys.argv[1:] else "found %s. Run:"
    sys.exit(("Python %s to %s is needed; " + where + " make PYTHON=/path/to/python3.x ...")
             % (supported[0], supported[-1], found))
endef
export CHECK_PYTHON

VENV   := .venv
PY     := $(VENV)/bin/python
READY  := $(VENV)/.ready
BROWSER := $(VENV)/.browser

.PHONY: lab test lint notebooks bench screenshots setup browser clean

lab: $(READY) $(BROWSER)
	$(PY) -m labserver open

test: $(READY) $(BROWSER)
	$(PY) -m pytest

# The project's own ruff rules (pyproject.toml), as .ci/run checks them.
lint: $(READY)
	$(PY) -m ruff check .

# Re-execute every notebook and save its outputs (what strict nbval then compares against).
notebooks: $(READY)
	$(PY) -m labserver execute-notebooks

# Lab start/stop time and requests/s through the in-process server, against Flask's test client.
bench: $(READY)
	$(PY) -m labserver bench

# Refresh docs/claims-editor.png, taken by the real-browser test of the claims editor.
screenshots: $(READY)
	LAB_SCREENSHOTS=docs $(PY) -m pytest tests/browser -k claims_editor_shows -q

setup: $(READY)

# Chapters 07 and 08's Chromium: the system's if there is one, else Playwright's, downloaded into .venv.
# Never fails: without a browser their cells say how to get one, and the tests skip them.
# `make browser` tries again.
$(BROWSER): $(READY)
	$(PY) -m labserver.browser.install
	touch $(BROWSER)

browser: $(READY)
	$(PY) -m labserver.browser.install

# Re-made whenever requirements.txt changes; otherwise the existing .venv is reused as is.
$(READY): requirements.txt
	@if [ -x $(PY) ]; then $(PY) -c "$$CHECK_PYTHON" venv; else $(PYTHON) -c "$$CHECK_PYTHON"; fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@# Put this folder on the venv's import path (labserver, exercises, solutions), with no build step.
	$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "jwt-lab.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	touch $(READY)

clean:
	rm -rf $(VENV)
