"""Running JupyterLab and the notebooks the course's way: offline, on loopback, in .venv.

* :func:`lab_command` is what ``make lab`` runs (and what the browser test starts);
* :func:`execute_notebooks` is what ``make notebooks`` runs: it re-executes notebooks and saves
  their outputs, which strict nbval then compares against.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .hosting import HOSTING_VARIABLES

ROOT = Path(__file__).resolve().parents[1]
FIRST_NOTEBOOK = "notebooks/00_start_the_lab.ipynb"

# JupyterLab settings that keep it from contacting the internet (news, update checks).
_OFFLINE_SETTINGS = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def jupyter_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for Jupyter: this Python's kernel first, and no REDIS_URL surprises.

    A ``python3`` kernelspec in the user's own Jupyter folder would otherwise win over the
    course's environment (see notes); putting ``sys.prefix/share/jupyter`` first prevents it.
    """
    env = dict(os.environ if base is None else base)
    share = str(Path(sys.prefix, "share", "jupyter"))
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [share, env.get("JUPYTER_PATH")]))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def write_offline_overrides() -> Path:
    """Install the offline settings as JupyterLab overrides inside this environment."""
    path = Path(sys.prefix, "share", "jupyter", "lab", "settings", "overrides.json")
    current = json.loads(path.read_text()) if path.is_file() else {}
    merged = {**current, **_OFFLINE_SETTINGS}
    if merged != current:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(merged, indent=2) + "\n")
    return path


def lab_command(
    *, port: int | None = None, token: str | None = None, browser: bool = True
) -> list[str]:
    """The JupyterLab command line: loopback only, no network calls, opening notebook 00."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={ROOT}",
        f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if port is not None:
        command += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    if token is not None:
        command.append(f"--IdentityProvider.token={token}")
    if not browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI machines often run as root
    return command


def open_course(*, port: int | None = None, token: str | None = None, browser: bool = True) -> None:
    """Replace this process with JupyterLab showing notebook 00 (``make lab``)."""
    write_offline_overrides()
    command = lab_command(port=port, token=token, browser=browser)
    os.chdir(ROOT)
    os.execve(command[0], command, jupyter_env())


#: What changes a notebook's outputs, unset for every kernel whose outputs are saved or compared:
#: a real Redis (the saved outputs show the embedded store), a class's capstone seed (they show
#: the course's own) and a hub's links (they show a laptop's).
KERNEL_UNSET = ("REDIS_URL", "LAB_CAPSTONE_SEED", *HOSTING_VARIABLES)


def execute_notebooks(paths: list[Path] | None = None, timeout: int = 120) -> list[Path]:
    """Run each notebook top to bottom in a fresh kernel and save it with its outputs.

    The kernel is this environment's, without :data:`KERNEL_UNSET`; no widget state or timing
    metadata is stored (both change every run).
    """
    import nbformat
    from nbclient import NotebookClient

    env = jupyter_env()
    for name in KERNEL_UNSET:
        env.pop(name, None)
    saved_environ = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel manager passes os.environ to the kernel
    try:
        paths = paths or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            NotebookClient(
                nb,
                timeout=timeout,
                kernel_name="python3",
                record_timing=False,
                store_widget_state=False,
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
            nb.metadata.pop("widgets", None)
            nbformat.write(nb, path)
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            print(f"executed and saved {shown}")
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
    return paths
