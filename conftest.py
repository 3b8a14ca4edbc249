"""Settings for every pytest run in this folder: unit tests, exercise suites and nbval.

* ``--impl exercises`` (or ``LAB_IMPL=exercises``) runs the exercise suites against the
  learner's files in ``exercises/`` instead of ``solutions/``.
* Nothing a test does may leave the machine: connections to any host but loopback fail.
* Notebooks always run against the embedded store, so their committed outputs hold; a
  ``REDIS_URL`` in the environment is for ``tests/`` only (see tests/conftest.py).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parent

# Moved aside for tests/ (see tests/conftest.py), so the notebook kernels nbval starts never see it.
if os.environ.get("REDIS_URL"):
    os.environ["LAB_TEST_REDIS_URL"] = os.environ.pop("REDIS_URL")

# Kernels started by nbval must import labserver even without `make`'s .pth file.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)


def pytest_addoption(parser):
    parser.addoption(
        "--impl",
        default=os.environ.get("LAB_IMPL", "solutions"),
        help="folder whose modules the exercise suites test: solutions (default), exercises, "
             "or a path (default from $LAB_IMPL)",
    )


def pytest_configure(config):
    _allow_only_loopback()


def _allow_only_loopback() -> None:
    """Refuse, with a clear error, any TCP/UDP connection to a non-loopback address."""
    if getattr(socket.socket.connect, "_lab_loopback_only", False):
        return
    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock: socket.socket, address) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return  # unix sockets are local by nature
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ConnectionRefusedError(
                f"the course's tests stay on loopback; refused a connection to {host!r}"
            )

    def connect(self, address):
        check(self, address)
        return original_connect(self, address)

    def connect_ex(self, address):
        check(self, address)
        return original_connect_ex(self, address)

    connect._lab_loopback_only = True
    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex

