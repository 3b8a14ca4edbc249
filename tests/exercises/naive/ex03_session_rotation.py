"""A naive login that promotes the presented session ID: exercise 03's suite must catch it.

Not an exercise: tests/test_exercise_harness.py runs the ex03 suite against this file and
checks that the fixation checks fail.
"""

from labserver.session_records import create_session, session_key


def login(store, clock, username, presented_session_id=None):
    if presented_session_id and store.exists(session_key(presented_session_id)):
        store.hset(session_key(presented_session_id), "user", username)  # promoted: fixation
        return presented_session_id
    return create_session(store, clock, username, ttl=8 * 3600 + 60)
