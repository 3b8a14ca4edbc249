"""A pytest plugin, used by :mod:`labserver.checking`: writes each test's outcome as JSON.

Loaded with ``-p labserver._check_report``; the file to write is ``$LAB_CHECK_REPORT``.
"""

from __future__ import annotations

import json
import os

import pytest

_results: list[dict] = []
_collect_errors: list[str] = []


#: The longest problem or hint a report line keeps (an exception's message may be megabytes).
MAX_LINE = 1000


def _cut(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[:MAX_LINE] + "…"


def _first_line(text: str) -> str:
    return _cut(text.strip().splitlines()[0]) if text.strip() else ""


def _describe(excinfo) -> tuple[str, str]:
    """(what went wrong, the hint) for a failed test."""
    exc = excinfo.value
    if isinstance(exc, AssertionError):
        # pytest rewrites "assert x, msg" into "msg\nassert <explanation>".
        text = str(exc)
        hint, _, explanation = text.partition("\nassert ")
        if not explanation:  # raised by hand with a message: the message is the hint
            return "the check failed", _first_line(text)
        return _first_line("assert " + explanation), _cut(hint.strip())
    message = _first_line(str(exc))
    if isinstance(exc, NotImplementedError):
        return "NotImplementedError: the function is still the stub", message
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__, ""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or report.failed:
        doc = _first_line(getattr(item, "function", None).__doc__ or "") or item.name
        if getattr(item, "callspec", None) is not None:
            doc += f" [{item.callspec.id}]"
        entry = {
            "test": item.name,
            "doc": doc,
            "outcome": report.outcome,
            "problem": "",
            "hint": "",
        }
        if report.failed and call.excinfo is not None:
            entry["problem"], entry["hint"] = _describe(call.excinfo)
        # A failing setup (e.g. the module does not import) and its call are one entry.
        if not any(r["test"] == item.name for r in _results):
            _results.append(entry)


def pytest_collectreport(report):
    if report.failed:
        _collect_errors.append(str(report.longrepr)[-2000:])


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("LAB_CHECK_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"results": _results, "collect_errors": _collect_errors}, f)
