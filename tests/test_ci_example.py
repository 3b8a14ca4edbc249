"""docs/ci/github-actions.yml, the CI example instructors copy, stays in step with .ci/run: the
same Debian packages, a supported Python, `make test` with the same settings, .venv cached."""

from __future__ import annotations

import re
import shlex

import yaml

from labserver.checking import ROOT

EXAMPLE = ROOT / "docs" / "ci" / "github-actions.yml"
CI_RUN = (ROOT / ".ci" / "run").read_text()


def workflow() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def steps() -> list[dict]:
    (job,) = workflow()["jobs"].values()
    return job["steps"]


def supported_pythons() -> list[str]:
    line = re.search(r"^SUPPORTED_PYTHONS\s*:?=(.*)$", (ROOT / "Makefile").read_text(), re.M)
    return line.group(1).split()


def installed_by_the_example() -> set[str]:
    packages = set()
    for step in steps():
        for line in step.get("run", "").splitlines():
            words = shlex.split(line)
            if "apt-get" in words and "install" in words:
                after = words[words.index("install") + 1 :]
                packages |= {w for w in after if not w.startswith("-")}
    return packages


def test_it_installs_the_debian_packages_ci_run_installs():
    wanted = set(re.findall(r"missing\+=\(([\w.+-]+)\)", CI_RUN))
    assert {"redis-server", "chromium"} <= wanted  # the pattern still reads .ci/run
    assert installed_by_the_example() == wanted


def test_it_runs_on_debian_with_a_supported_python():
    (job,) = workflow()["jobs"].values()
    image = job["container"] if isinstance(job["container"], str) else job["container"]["image"]
    found = re.fullmatch(r"python:(\d+\.\d+)-(bookworm|trixie)", image)
    assert found, f"{image}: expected python:<version>-<Debian release>"
    assert found.group(1) in supported_pythons()
    cache = next(s for s in steps() if s.get("uses", "").startswith("actions/cache@"))
    assert found.group(1) in cache["with"]["key"]  # a new Python is a new .venv


def test_it_runs_make_test_as_ci_run_does():
    ours = re.search(r"^env (.*) make test$", CI_RUN, re.M)
    assert ours, ".ci/run no longer runs `env ... make test`"
    settings = dict(w.split("=", 1) for w in shlex.split(ours.group(1)) if "=" in w)
    assert settings == {"LAB_REQUIRE_BROWSER": "1"}
    last = steps()[-1]
    assert last["run"].strip() == "make test"
    assert {k: str(v) for k, v in last.get("env", {}).items()} == settings


def test_it_caches_the_venv_by_requirements_txt():
    cache = next(s for s in steps() if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".venv"
    assert "hashFiles('requirements.txt')" in cache["with"]["key"]
    names = [s.get("uses", s.get("name")) for s in steps()]
    assert names.index(cache["uses"]) < names.index("make test")
