"""The lab app for a WSGI server: ``labserver.wsgi:app``, configured from the environment.

For chapter 10's separate-process variant: several processes of the lab app sharing one Redis.
``REDIS_URL`` names the store (required here: processes cannot share the embedded one); any
lab config key can be set as ``LAB_<KEY>``, e.g. ``LAB_SERVICE_NAME=api-1`` or
``LAB_EDGE_JWKS_URL=http://127.0.0.1:8000/.well-known/jwks.json``. Values are read as JSON when
they parse (numbers, true/false), else as text. ``python -m labserver serve --workers N`` runs
the lab under gunicorn with N processes (see :mod:`labserver.workers`); gunicorn's own command
works too, with ``--preload``: ``gunicorn --preload -w 2 -b 127.0.0.1:8001 labserver.wsgi:app``.
``--preload`` imports this module once, in gunicorn's master, so that every worker inherits the
same signing keys; without it each worker makes its own, and a JWT verifies only in the worker
that issued it.
"""

from __future__ import annotations

import json
import os


def config_from_env(environ=os.environ) -> dict:
    """``LAB_<KEY>=value`` variables, for the lab's config keys only, as a config dict."""
    from .app import all_options

    known = {option.name for option in all_options()}
    config = {}
    for name, value in environ.items():
        if name.startswith("LAB_") and name[4:] in known:
            try:
                config[name[4:]] = json.loads(value)
            except ValueError:
                config[name[4:]] = value
    return config


def make_app(environ=os.environ):
    """The app for ``environ`` (see the module docstring)."""
    from .app import create_app
    from .store import connect

    url = environ.get("REDIS_URL")
    if not url:
        raise RuntimeError(
            "labserver.wsgi needs REDIS_URL: separate processes share a real Redis, not the "
            "embedded store"
        )
    from .workers import shared_keys

    # Every key made now (RSA too): with --preload, before gunicorn forks its workers.
    return create_app(config_from_env(environ), store=connect(url), keys=shared_keys())


app = make_app() if os.environ.get("REDIS_URL") else None
