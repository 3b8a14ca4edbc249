"""A cache with a twice-too-cautious margin: exercise 09's suite must catch it.

Not an exercise: tests/test_exercise_harness.py runs the ex09 suite against this file.
"""

from solutions.ex09_token_cache import session_key


def token_for_session(store, clock, session_id, mint, margin=30):
    token, exp = store.hmget(session_key(session_id), "access_token", "access_exp")
    if token and exp and float(exp) - clock.now() > 2 * margin:
        return token, False
    token, exp = mint()
    store.hset(session_key(session_id), mapping={"access_token": token, "access_exp": exp})
    return token, True
