"""``python -m labserver serve --workers N``: the lab under gunicorn, in N worker processes.

What the workers share, and how, is the lesson of chapter 10's separate processes:

* the **store**: one real Redis (``REDIS_URL``). Sessions, refresh-token families and deny lists
  live there, so any worker can answer for a session another worker created. The embedded
  fakeredis store lives in one process, so it cannot be shared: N > 1 requires ``REDIS_URL``.
* the **signing keys**: made once, in gunicorn's master process, before it forks the workers;
  every worker (and every replacement for a worker that died) inherits the same key material.
  That is all a JWT needs: any worker verifies any worker's tokens without asking the store.
  For the same reason the key rotation endpoints answer 409 here: a key rotated in one worker
  would exist in that worker only.
* nothing else: each worker builds its own app, with its own lab clock, request log, store
  connection and (with ``--jwks-url``) its own copy of the issuer's JWKS and its rate limit.

Each response carries ``X-Lab-Worker-Pid``, the answering worker's process id, so that a
client can see which process answered. gunicorn runs on POSIX systems only (it uses ``fork``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

#: The response header naming the worker process that answered.
WORKER_HEADER = "X-Lab-Worker-Pid"

#: Requests that would change one worker's signing keys only: refused (see the module docstring).
_KEY_CHANGES = {
    "POST": re.compile(r"/admin/keys/rotate"),
    "DELETE": re.compile(r"/admin/keys/[^/]+"),
}


def shared_keys():
    """A :class:`~labserver.keys.KeyRing` with every key's material made now (RSA is otherwise
    made on first use, which in a forked worker would give each worker its own RSA key)."""
    from .keys import KeyRing

    ring = KeyRing()
    for kid in ring.kids:
        ring.get(kid).generate()
    return ring


def with_worker_pid(app, *, refuse_key_changes: bool = True):
    """``app`` answering with :data:`WORKER_HEADER`, and refusing key rotation with a 409."""
    pid = str(os.getpid())  # called in the worker, after the fork

    def middleware(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, [*headers, (WORKER_HEADER, pid)], exc_info)

        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        if refuse_key_changes and method in _KEY_CHANGES and _KEY_CHANGES[method].fullmatch(path):
            body = json.dumps(
                {
                    "error": "conflict",
                    "error_description": "the workers share keys made once in gunicorn's master "
                    "process; rotating or retiring a key in one worker would split them "
                    "(run the lab with --workers 1 to rotate keys)",
                }
            ).encode()
            start(
                "409 CONFLICT",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return app(environ, start)

    return middleware


def worker_count(value: str) -> int:
    """argparse type of ``serve --workers``: a whole number of at least 1."""
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {value!r}")
    return int(value)


def serve_from_cli(config: dict, *, port: int, workers: int, redis_url: str | None) -> int:
    """``serve --workers N`` (N > 1): check what the workers must share, then :func:`serve`.
    Returns 2, having said why in one line, when gunicorn cannot run or the store is missing."""
    from .store import UNREACHABLE, connect
    from .wsgi import config_from_env

    if os.name != "posix":
        return _refuse(
            "serve --workers needs gunicorn, which runs on Linux and macOS only (it forks); "
            "on Windows use one process (no --workers) or WSL"
        )
    if not redis_url:
        return _refuse(
            f"serve --workers {workers} needs REDIS_URL: each process would have its own "
            "embedded store, so a session made by one worker would be unknown to the others"
        )
    try:
        connect(redis_url).ping()
    except (*UNREACHABLE, ValueError) as exc:
        return _refuse(
            f"serve --workers: the Redis at REDIS_URL={redis_url} cannot be reached ({exc})"
        )
    # As labserver.wsgi: lab config keys from LAB_<KEY> variables; the flags win.
    config = {**config_from_env(), **config}
    return serve(config, port=port, workers=workers, redis_url=redis_url)


def _refuse(reason: str) -> int:
    print(reason, file=sys.stderr)
    return 2


def die_with_master(server, worker) -> None:
    """gunicorn's ``post_fork`` hook: on Linux, the kernel kills this worker when the master
    dies, even by SIGKILL. Without it an orphaned worker keeps serving the port until its next
    check of its parent, up to half gunicorn's timeout later."""
    from .lifetime import die_with_parent

    die_with_parent(worker.ppid)


def serve(config: dict, *, port: int, workers: int, redis_url: str) -> int:
    """Run the lab app for ``config`` under gunicorn on 127.0.0.1:``port`` (0: a free port)
    with ``workers`` processes on the Redis at ``redis_url``, until Ctrl+C or SIGTERM."""
    from gunicorn.app.base import BaseApplication

    from .app import create_app
    from .store import connect, describe

    keys = shared_keys()
    name = config.get("SERVICE_NAME", "lab")

    def when_ready(server) -> None:
        host, bound = server.LISTENERS[0].sock.getsockname()[:2]
        store = describe(connect(redis_url))
        print(f"{name} on http://{host}:{bound} · {workers} workers · store: {store}", flush=True)

    class LabApplication(BaseApplication):
        def load_config(self) -> None:
            settings = {
                "bind": f"127.0.0.1:{port}",
                "workers": workers,
                "worker_class": "sync",
                "accesslog": "-",  # the request log in the terminal, as werkzeug's serve prints
                "when_ready": when_ready,
                "post_fork": die_with_master,
                "proc_name": f"labserver-{name}",
                # gunicorn 27's control socket is one file per user (~/.gunicorn/gunicorn.ctl):
                # several labs would fight over it, and the lab does not use it.
                "control_socket_disable": True,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            # In each worker, after the fork: its own app and store connection, the master's keys.
            return with_worker_pid(create_app(config, store=connect(redis_url), keys=keys))

    LabApplication().run()
    return 0
