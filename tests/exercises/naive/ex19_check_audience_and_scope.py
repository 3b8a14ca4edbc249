"""An audience and scope check with ``in`` on strings: exercise 19's suite must catch it.

Not an exercise: tests/test_exercise_harness.py runs the ex19 suite against this file.
"""


class AccessDenied(Exception):
    def __init__(self, status, error, description):
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


def check_access(claims, *, audience, required_scopes):
    # `in` works for a list aud and for a string aud alike... as a substring test on a string
    if audience not in claims.get("aud", []):
        raise AccessDenied(401, "invalid_token", f"the token is not for {audience}")
    for scope in required_scopes:
        if scope not in claims.get("scope", ""):  # and again: a substring of the scope string
            raise AccessDenied(403, "insufficient_scope", f"this needs the scope {scope}")
