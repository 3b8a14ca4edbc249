"""Binder's configuration (runtime.txt, apt.txt, postBuild, the README's link), checked as far as
a machine without Docker and without internet can.

* runtime.txt names a Python the course supports (the Makefile's SUPPORTED_PYTHONS, which
  .ci/check-wheels resolves requirements.txt for);
* apt.txt holds the libraries the pinned Playwright lists for its Chromium on Ubuntu 24.04
  (repo2docker's base image), and no ``chromium-browser`` (on Ubuntu, a snap shim that does not
  run in a container); its other names are packages apt knows here;
* postBuild is executable (in git too), and runs: in a scratch environment it puts the course on
  the import path as ``make setup`` does, finds the browser, and writes JupyterLab's offline
  settings (Playwright's download itself needs the internet, which Binder has and this machine
  does not: the browser is given by ``LAB_CHROMIUM`` here);
* the README's Binder link opens notebook 00;
* where ``repo2docker`` is installed (it is not pinned: it is a tool for building images, not
  part of the course), the Dockerfile it renders without Docker (``--no-build``) starts from the
  base image apt.txt was written for, and installs these files.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from labserver.jupyter import FIRST_NOTEBOOK
from labserver.selfcheck import supported_pythons

ROOT = Path(__file__).resolve().parents[1]
#: repo2docker's base image (``Repo2Docker.base_image``), which apt.txt's names are for.
BASE_IMAGE = "buildpack-deps:24.04"
PLAYWRIGHT_PLATFORM = "ubuntu24.04-x64"


def runtime_python() -> str:
    match = re.fullmatch(r"python-(3\.\d+)", (ROOT / "runtime.txt").read_text().strip())
    assert match, "runtime.txt is python-3.X (repo2docker's form for a Python version)"
    return match.group(1)


def apt_packages() -> list[str]:
    """apt.txt's names, read as repo2docker reads them (a ``#`` starts a comment)."""
    lines = (ROOT / "apt.txt").read_text().splitlines()
    return [name for line in lines if (name := line.partition("#")[0].strip())]


def playwright_chromium_packages(platform: str) -> list[str]:
    """The packages the installed Playwright's ``install-deps chromium`` names on ``platform``
    (its table of native dependencies, in the driver's JavaScript)."""
    import playwright

    lib = Path(playwright.__file__).parent / "driver" / "package" / "lib"
    for candidate in (lib / "coreBundle.js", lib / "server" / "registry" / "nativeDeps.js"):
        if not candidate.is_file():
            continue
        source = candidate.read_text(encoding="utf-8")
        block = re.search(rf'"{re.escape(platform)}": \{{.*?\bchromium: \[(.*?)\]', source, re.S)
        if block:
            return re.findall(r'"([a-z0-9.+-]+)"', block.group(1))
    pytest.fail(f"no Chromium package list for {platform} in Playwright's driver under {lib}")


def test_runtime_txt_names_a_supported_python():
    assert runtime_python() in supported_pythons()


def test_apt_txt_has_what_playwrights_chromium_needs_on_binders_ubuntu():
    packages = apt_packages()
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", name) for name in packages), packages
    assert len(packages) == len(set(packages)), "no name twice"
    assert not {"chromium", "chromium-browser"} & set(packages), (
        "Ubuntu's chromium-browser is a snap shim that does not run in a container; "
        "postBuild downloads Playwright's Chromium instead"
    )
    needed = playwright_chromium_packages(PLAYWRIGHT_PLATFORM)
    assert len(needed) > 10, needed
    missing = sorted(set(needed) - set(packages))
    assert missing == [], f"Playwright's Chromium needs these on Ubuntu 24.04: {missing}"
    assert "fonts-dejavu-core" in packages, "a font: without one, pages show boxes for text"


def test_apt_txt_other_names_are_packages_apt_knows():
    """Names that are not in Playwright's Ubuntu list (a font, redis-server) are ordinary
    packages of Debian and Ubuntu alike: apt here knows them."""
    if shutil.which("apt-cache") is None:
        pytest.skip("no apt-cache on this machine")
    others = sorted(set(apt_packages()) - set(playwright_chromium_packages(PLAYWRIGHT_PLATFORM)))
    unknown = [
        name
        for name in others
        if subprocess.run(["apt-cache", "show", name], capture_output=True).returncode != 0
    ]
    assert unknown == [], f"apt does not know {unknown} (after `apt-get update`?)"


def _makefile_pth_command() -> str:
    match = re.search(r"-c '(import pathlib, sysconfig;[^']*jwt-lab\.pth[^']*)'", _read("Makefile"))
    assert match, "the Makefile writes jwt-lab.pth"
    return match.group(1)


def _read(name: str) -> str:
    return (ROOT / name).read_text()


def test_postbuild_is_executable_in_git_and_on_disk():
    assert (ROOT / "postBuild").stat().st_mode & stat.S_IXUSR
    if (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "--stage", "postBuild"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout
        assert listed.startswith("100755 "), f"git has postBuild as {listed.split()[:1]}"
    assert _makefile_pth_command() in _read("postBuild"), (
        "postBuild puts the course on the import path with the Makefile's own command"
    )


def test_postbuild_runs_in_a_fresh_environment(tmp_path):
    """postBuild in a scratch environment that stands for Binder's (it sees this environment's
    packages through a .pth file, and has none of the course's settings)."""
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (purelib / "this-environments-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    browser = tmp_path / "a-chromium"
    environ = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")},
        "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "LAB_CHROMIUM": str(browser),  # no download from here: no internet
    }
    done = subprocess.run(
        [str(ROOT / "postBuild")],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (purelib / "jwt-lab.pth").read_text() == f"{ROOT}\n"
    assert f"browser: {browser}" in done.stdout
    overrides = env_dir / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert '"fetchNews": "false"' in overrides.read_text()
    imported = subprocess.run(
        [python, "-c", "import labserver, exercises; print(labserver.__file__)"],
        cwd=tmp_path,  # not the course's folder: the .pth file is what finds it
        env=environ,
        capture_output=True,
        text=True,
    )
    assert imported.stdout.strip() == str(ROOT / "labserver" / "__init__.py"), imported.stderr


def test_the_readmes_binder_link_opens_notebook_00():
    links = re.findall(r"https://mybinder\.org/v2/gh/\S+", _read("README.md"))
    assert links, "the README has a Binder link"
    assert all(link.endswith(f"?urlpath=lab/tree/{FIRST_NOTEBOOK}") for link in links), links
    assert (ROOT / FIRST_NOTEBOOK).is_file()


@pytest.mark.skipif(
    shutil.which("repo2docker") is None,
    reason="repo2docker is not installed (pip install jupyter-repo2docker to run this check)",
)
def test_repo2docker_renders_a_dockerfile_from_these_files():
    done = subprocess.run(
        ["repo2docker", "--no-build", "--user-id", "1000", "--user-name", "jovyan", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    dockerfile = done.stdout
    base = re.search(r"^FROM (\S+)$", dockerfile, re.M)
    assert base and base.group(1) == f"docker.io/library/{BASE_IMAGE}", (
        f"repo2docker's base image is no longer {BASE_IMAGE}: apt.txt's names are for that one"
    )
    assert f"python={runtime_python()}" in done.stderr, "runtime.txt's Python is the one built"
    install = re.search(r"apt-get install --yes --no-install-recommends ([^&]+)&&", dockerfile)
    assert install and sorted(install.group(1).split()) == sorted(apt_packages())
    assert 'pip install --no-cache-dir -r "requirements.txt"' in dockerfile
    assert "RUN ./postBuild" in dockerfile
