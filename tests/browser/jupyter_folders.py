"""What the JupyterLab-starting browser tests share: a free port, and throwaway Jupyter folders
so that a test's JupyterLab never reads or writes the learner's own settings."""

import socket
from pathlib import Path

#: Jupyter's per-user folders, each redirected under the test's home.
FOLDERS = (
    "JUPYTER_CONFIG_DIR",
    "JUPYTER_DATA_DIR",
    "JUPYTER_RUNTIME_DIR",
    "IPYTHONDIR",
    "JUPYTERLAB_SETTINGS_DIR",
    "JUPYTERLAB_WORKSPACES_DIR",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def throwaway_folders(home: Path) -> dict[str, str]:
    """Environment variables that put each of Jupyter's folders under ``home``."""
    return {name: str(home / name.lower()) for name in FOLDERS}
