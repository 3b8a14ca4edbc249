"""Child processes that die with their parent: the lab's subprocesses never outlive a kernel.

A kernel that is killed (a restart in JupyterLab, SIGKILL) runs no cleanup, so a child it
started would run on, holding a port or a CPU. On Linux the child asks the kernel to SIGKILL it
when its parent dies (``prctl(PR_SET_PDEATHSIG)``); elsewhere there is no such call, and each
caller says what it does instead.
"""

from __future__ import annotations

import functools
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


@functools.cache
def _prctl():
    """libc's ``prctl`` on Linux, else None (looked up once: a ``preexec_fn`` must not import)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def die_with_parent(parent: int, exit_code: int = 70) -> None:
    """Have this process killed when ``parent`` dies; if it already has, exit at once with
    ``exit_code``. Where the platform cannot do it, only the exit check is made."""
    prctl = _prctl()
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above ran
        os._exit(exit_code)


def preexec_die_with_parent():
    """A ``subprocess.Popen`` ``preexec_fn`` that makes the child die with this process.

    The kernel sends the signal when the *thread* that forked the child ends, not the process:
    start the child from a thread that lives as long as it should (the main one, or one that
    waits for the child)."""
    _prctl()  # before the fork
    parent = os.getpid()
    return lambda: die_with_parent(parent)
