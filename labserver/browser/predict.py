"""Chapter 08: a learner's prediction of the SameSite table next to what Chromium did.

``compare(cookie_is_sent, observed)`` asks the learner's function (exercise 21) about each cell
of the chapter's table, cross-site requests × the lab's five SameSite cookies, and lays its
answers beside the measured ones, marking each disagreement. The text is deterministic: it
depends only on the function's answers and the table given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..chapters.browser_pages import SAMESITE_COOKIES

#: The kinds of cross-site request, in the table's row order (exercise 21's ``request["kind"]``).
KINDS = ("top-level GET", "top-level POST", "iframe", "fetch")
#: The cookies, in the table's column order: name -> what exercise 21's function is given.
COOKIES = {
    name: {"samesite": attributes.get("samesite"), "secure": bool(attributes.get("secure"))}
    for name, attributes in SAMESITE_COOKIES
}

Observed = Mapping[tuple[str, str], bool]
_MARK = "✗"
_RAISED = object()  # the answer of a cell on which the function raised


class Comparison(str):
    """The comparison's text; a notebook shows it as it is, not as a quoted string."""

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


def _word(answer) -> str:
    if answer is True:
        return "yes"
    if answer is False:
        return "no"
    return "?"


def _check_observed(observed: Observed) -> None:
    for key, value in observed.items():
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] in KINDS and key[1] in COOKIES):
            raise ValueError(
                f"observed key {key!r}: expected (kind, cookie) with kind one of {KINDS} and "
                f"cookie one of {tuple(COOKIES)}"
            )
        if not isinstance(value, bool):
            raise ValueError(f"observed[{key!r}] is {value!r}: expected True (sent) or False")


def _ask(predict: Callable, kind: str, name: str, third_party_cookies: bool, age: float):
    """(the function's answer, or ``_RAISED``; the exception it raised, or None)."""
    cookie = {**COOKIES[name], "age_seconds": age}
    request = {"site": "cross-site", "kind": kind, "third_party_cookies": third_party_cookies}
    try:
        return predict(cookie, request), None
    except Exception as exc:  # noqa: BLE001 - the learner's code: report, never raise
        return _RAISED, exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def compare(
    predict: Callable,
    observed: Observed,
    *,
    third_party_cookies: bool = False,
    age_seconds: float = 0.0,
) -> Comparison:
    """Lay ``predict(cookie, request)``'s answers beside ``observed`` (``{(kind, cookie name):
    sent}``) for every cross-site cell, each cell "yours/Chromium's", a disagreement marked ✗;
    cells missing from ``observed`` show "?" and are not counted.

    ``third_party_cookies`` and ``age_seconds`` are the browser's setting and the cookies' age
    when ``observed`` was measured; ``predict`` is asked about that same situation.
    """
    _check_observed(observed)
    name = getattr(predict, "__name__", "your function")
    answers, errors = {}, []
    for kind in KINDS:
        for cookie in COOKIES:
            answer, error = _ask(predict, kind, cookie, third_party_cookies, age_seconds)
            answers[kind, cookie] = answer
            if error is not None:
                errors.append((kind, cookie, error))
    if len(errors) == len(answers) and all(isinstance(e, NotImplementedError) for *_, e in errors):
        return Comparison(
            f"{name} is not written yet (it raises NotImplementedError): write your "
            "prediction in exercise 21 first, then run this cell again."
        )

    setting = "allowed" if third_party_cookies else "blocked"
    lines = [
        f"Cross-site requests, third-party cookies {setting}: was the cookie sent?",
        "(each cell: your prediction/what Chromium did; ✗ where they differ)",
    ]
    kind_width = max(map(len, KINDS)) + 2
    widths = {c: max(len(c), len(f"yes/yes {_MARK}")) + 2 for c in COOKIES}
    lines.append(" " * kind_width + "".join(c.ljust(widths[c]) for c in COOKIES).rstrip())
    disagree, compared = [], 0
    for kind in KINDS:
        row = kind.ljust(kind_width)
        for cookie in COOKIES:
            mine, seen = answers[kind, cookie], observed.get((kind, cookie))
            cell = f"{_word(mine)}/{_word(seen)}"
            if seen is not None:
                compared += 1
                if mine is not seen:
                    disagree.append((kind, cookie))
                    cell += f" {_MARK}"
            row += cell.ljust(widths[cookie])
        lines.append(row.rstrip())

    if not compared:
        lines.append("Nothing measured to compare with.")
    elif disagree:
        lines.append(
            f"You and Chromium agree on {compared - len(disagree)} of {compared} cells "
            f"({_MARK} marks the other {len(disagree)})."
        )
    else:
        lines.append(f"You and Chromium agree on all {compared} cells.")
    odd = sorted(
        {type(a).__name__ for a in answers.values() if a is not _RAISED and not isinstance(a, bool)}
    )
    if odd:
        lines.append(f"{name} returned {', '.join(odd)} where True or False was due (shown ?).")
    if errors:
        kind, cookie, error = errors[0]
        lines.append(
            f"{name} raised on {len(errors)} of {len(answers)} cells (shown ?); the first, "
            f"{kind} × {cookie}: {_first_line(error)}"
        )
    return Comparison("\n".join(lines))
