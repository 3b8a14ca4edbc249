"""The lab behind the course "JWT vs Sessions: a hands-on lab".

Everything a notebook imports comes from here::

    from labserver import start_lab, check, PASSWORDS

The names are loaded on first use, so that a small import (``labserver.clock`` in an exercise's
tests) does not pay for Flask, requests and the rest.

Where things live:

========================  =======================================================================
folder or module          what it holds
========================  =======================================================================
top-level modules         the logic: sessions, tokens, refresh, revocation, keys, users, store,
                          clock, BFF; plain functions over the store and the clock, no Flask
``chapters/``             HTTP: one blueprint per chapter, registered from ``app.BLUEPRINTS``
``oauth/``                chapter 04's identity provider and resource servers (Authlib, PyJWT)
``browser/``              chapters 07-08's headless Chromium: the driver thread, ``lab.browser()``,
                          and the experiments it runs (SameSite, XSS, CORS, scoping, logout)
``experiments/``          what chapters measure: revocation windows, attacks, costs, services
``capstone/``             chapter 11's black box: its flaw catalogue, ``draw(seed)``, scoring,
                          hints (its HTTP side is ``chapters/capstone.py``)
``tools/``, ``widgets/``  the offline decoder, timestamp converter and cookie inspector; their
                          notebook widgets
``lab.py``, ``server.py``  ``start_lab`` and the in-process WSGI server; ``checking.py`` runs
                          ``check("exNN")``; ``course.py`` is the course map
``web/``                  the pages a browser loads (the BFF's, the token-in-localStorage app)
========================  =======================================================================
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Lab": "labserver.lab",
    "start_lab": "labserver.lab",
    "current_lab": "labserver.lab",
    "LabClock": "labserver.clock",
    "PASSWORDS": "labserver.users",
    "check": "labserver.checking",
    "create_app": "labserver.app",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'labserver' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
