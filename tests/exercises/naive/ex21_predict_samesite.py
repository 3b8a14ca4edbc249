"""The SameSite rule as browsers applied it before 2020: exercise 21's suite must catch it.

It reads a missing SameSite as None (no "Lax by default", so no 2-minute window either), sends a
SameSite=None cookie whether or not it is Secure, and knows nothing of third-party cookie
blocking. Not an exercise: tests/test_exercise_harness.py runs the ex21 suite against this file.
"""

KINDS = ("top-level GET", "top-level POST", "iframe", "fetch")
LAX_ALLOWING_UNSAFE_SECONDS = 120


def cookie_is_sent(cookie, request):
    samesite = cookie.get("samesite") or "None"  # no attribute: no restriction, as in 2019
    if request["site"] == "same-site" or samesite == "None":
        return True
    if samesite == "Strict":
        return False
    return request["kind"] == "top-level GET"
