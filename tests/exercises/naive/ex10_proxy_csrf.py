"""An origin check by prefix: exercise 10's suite must catch it.

Not an exercise: tests/test_exercise_harness.py runs the ex10 suite against this file.
"""


def csrf_problem(headers, own_origin):
    if headers.get("X-CSRF") != "1":
        return "missing X-CSRF: 1"
    origin = headers.get("Origin")
    if origin is not None and not origin.startswith(own_origin):  # a prefix is not an origin
        return f"cross-origin request from {origin}"
    if headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return "the browser says it is not same-origin"
    return None
