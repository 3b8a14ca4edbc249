"""A warm process that runs exercise suites for :mod:`labserver.checking`, one fork per check.

``check("ex01")`` must test the learner's latest save in a process of its own, so that an endless
or crashing exercise cannot harm the notebook's kernel. Starting Python, pytest and the libraries
the suites import takes about 0.3 s per check; this worker pays that once per kernel. It reads one
JSON job per line on stdin (``{"argv", "env", "cwd", "log", "timeout"}``), forks
a child that runs ``pytest.main(argv)`` with that environment, kills the child if it outlives the
timeout, and answers one JSON line: ``{"status": "done", "code": N}`` or ``{"status": "timeout"}``.
The parent never runs a test itself, so every check starts from the same clean, warm state.

POSIX only (it needs ``os.fork``); :mod:`labserver.checking` falls back to a fresh
``python -m pytest`` elsewhere, or whenever this worker is not there.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from .lifetime import die_with_parent


def _warm_up() -> None:
    """Import what the suites import, so that each forked child finds it loaded."""
    import pytest  # noqa: F401

    for name in (
        "_pytest.python",
        "_pytest.fixtures",
        "_pytest.assertion.rewrite",
        "_pytest.terminal",
        "fakeredis",
        "jwt",
        "cryptography.hazmat.primitives.asymmetric.rsa",
        "cryptography.hazmat.primitives.asymmetric.ec",
        "cryptography.x509",
        "requests",
        "flask",
        "labserver.lab",
        "labserver.app",
    ):
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - a module that fails here fails in the child, clearly
            pass


def _run_child(job: dict, parent: int) -> None:
    """In the forked child: run pytest as the job says, then leave without cleanup."""
    code = 70
    try:
        die_with_parent(parent)  # Linux; elsewhere the timeout is all there is
        os.setpgid(0, 0)  # a group of its own: whatever the learner's file forks ends with it
        os.chdir(job["cwd"])
        os.environ.clear()
        os.environ.update(job["env"])
        sys.path[:0] = [p for p in job.get("path", []) if p not in sys.path]
        log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        for fd in (1, 2):  # pytest's output goes to the log, off the job protocol
            os.dup2(log, fd)
        import pytest

        code = int(pytest.main(job["argv"]))
    finally:
        os._exit(code)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # nothing of the check is left
        pass


def _run(job: dict) -> dict:
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        _run_child(job, parent)
    try:
        os.setpgid(pid, pid)  # as the child does: whichever runs first, before it forks
    except OSError:  # the child has already done it, or already exited
        pass
    deadline = time.monotonic() + float(job["timeout"])
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            _kill_group(pid)  # processes the file forked and left running
            return {"status": "done", "code": os.waitstatus_to_exitcode(status)}
        if time.monotonic() > deadline:
            _kill_group(pid)
            os.waitpid(pid, 0)
            return {"status": "timeout"}
        time.sleep(0.005)


def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # anything printed while warming up stays off the protocol
    _warm_up()
    out.write(json.dumps({"status": "ready"}) + "\n")
    out.flush()
    for line in sys.stdin:  # EOF (the kernel went away) ends the worker
        try:
            reply = _run(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - report, and stay up for the next check
            reply = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
