# Two commands for a newcomer (see README.md):
#   make lab    set up .venv if needed, then open the course in JupyterLab at notebook 00
#   make test   set up .venv if needed, then run every test, nbval over the notebooks included
# Nothing is installed outside this folder.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
READY  := $(VENV)/.ready

.PHONY: lab test notebooks bench screenshots setup clean

lab: $(READY)
	$(PY) -m labserver open

test: $(READY)
	$(PY) -m pytest

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

# Re-made whenever requirements.txt changes; otherwise the existing .venv is reused as is.
$(READY): requirements.txt
	@$(PYTHON) -c 'import sys; sys.version_info >= (3, 10) or sys.exit("Python 3.10 or newer is needed; found " + sys.version.split()[0] + ". Run: make PYTHON=/path/to/python3.x ...")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@# Put this folder on the venv's import path (labserver, exercises, solutions), with no build step.
	$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "jwt-lab.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	touch $(READY)

clean:
	rm -rf $(VENV)
