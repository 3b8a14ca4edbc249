"""The exercise harness, both ways: every suite passes on solutions/ and fails on the stubs.

A suite that passed on an untouched stub could not catch anything, so each check of each
suite must fail there. ``check()`` must report, never raise: unsolved, broken, endless or
unknown exercises all become a readable report.

On a learner's copy, ``exercises/`` holds their work: the stub checks then use the course's
committed stub (``git show``, see labserver/course_copy.py), and the learner's own file is only
reported (the summary at the end of the run says what is solved). Without git (a zip download)
a stub check that does not fail is skipped, since the file may be the learner's.
"""

from functools import cache
from pathlib import Path

import pytest

from labserver.checking import ROOT, CheckReport, check, run_suite
from labserver.course_copy import here

COURSE = here()


def _has_suite(stub: Path) -> bool:
    return (ROOT / "tests" / "exercises" / f"test_{stub.name}").is_file()


# exNN -> its stub; of two files for one exercise (a learner's backup copy), the one with a suite.
STUBS = {
    p.name[:4]: p
    for p in sorted(COURSE.course_files("exercises", "ex[0-9][0-9]_*.py"), key=_has_suite)
}
EXERCISES = sorted(STUBS)
YOUR_FOLDER = ROOT / "exercises"
_IF_YOU_COMMITTED = (
    " (exercises/{name} is as committed at {ref}; if that commit holds your "
    "own solution, name the course's commit instead: "
    "LAB_COURSE_REF=origin/main make test)"
)


def _has_stub_marker(text: str) -> bool:
    return "NotImplementedError" in text or "Find the bug" in text


@cache
def yours(exercise: str) -> CheckReport:
    """The suite run on the file in exercises/ (what check() shows the learner), once."""
    return run_suite(exercise, str(YOUR_FOLDER))


def course_stub(exercise: str, tmp_path: Path) -> tuple[Path, bool]:
    """(a folder holding the course's stub of ``exercise``, whether it surely is that stub).

    exercises/ when the file there is the committed one (or files are tested as on disk); else a
    copy of the committed stub in ``tmp_path``. Without git, exercises/, not surely the stub.
    """
    stub = STUBS[exercise]
    if COURSE.uses_committed and COURSE.is_yours(stub):
        folder = tmp_path / "course-stubs"
        folder.mkdir(exist_ok=True)
        (folder / stub.name).write_bytes(COURSE.course_bytes(stub))
        return folder, True
    return YOUR_FOLDER, COURSE.git


def stub_report(exercise: str, folder: Path) -> CheckReport:
    return yours(exercise) if folder == YOUR_FOLDER else run_suite(exercise, str(folder))


def test_there_is_at_least_one_exercise():
    assert EXERCISES


@pytest.mark.parametrize("exercise", EXERCISES)
def test_each_exercise_has_a_stub_a_solution_and_a_suite(exercise):
    stub = STUBS[exercise]
    assert (ROOT / "solutions" / stub.name).is_file(), f"solutions/{stub.name} is missing"
    assert _has_suite(stub)
    text = COURSE.course_text(stub)
    if not COURSE.git and not _has_stub_marker(text):
        pytest.skip(
            f"exercises/{stub.name} holds your work, and this copy is not a git checkout, "
            "so the course's stub cannot be read back to check it (CI checks it)"
        )
    hint = _IF_YOU_COMMITTED.format(name=stub.name, ref=COURSE.ref) if COURSE.uses_committed else ""
    assert _has_stub_marker(text), (
        "a stub raises NotImplementedError with a hint, or is a 'Find the bug' exercise" + hint
    )


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_check_passes_on_the_solution(exercise):
    report = run_suite(exercise, "solutions")
    assert report.ok, report.text()
    assert "all" in report.text() and "✗" not in report.text()


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_check_fails_on_the_untouched_stub(exercise, tmp_path):
    folder, surely_the_stub = course_stub(exercise, tmp_path)
    report = stub_report(exercise, folder)
    passing = [r.doc for r in report.results if r.passed]
    text = (folder / STUBS[exercise].name).read_text()
    problem = ""
    if report.error or report.total == 0:
        problem = report.error or "the suite has no checks"
    elif "Find the bug" in text:
        # The stub is working-but-wrong code: checks that pin what must keep working may pass on
        # it, but most must fail, or the suite would not catch the bugs.
        if len(passing) >= report.total / 2:
            problem = f"too many checks pass on the buggy stub: {passing}"
    elif passing:
        problem = f"these checks pass on the stub, so they cannot catch anything: {passing}"
    if problem and not surely_the_stub:
        pytest.skip(
            f"exercises/{STUBS[exercise].name} may hold your work ({report.passed} of "
            f"{report.total} checks pass), and this copy is not a git checkout, so the "
            "course's untouched stub cannot be read back: CI checks it"
        )
    if problem and folder == YOUR_FOLDER and COURSE.uses_committed:
        problem += _IF_YOU_COMMITTED.format(name=STUBS[exercise].name, ref=COURSE.ref)
    elif problem and COURSE.as_on_disk and COURSE.is_yours(STUBS[exercise]):
        problem += (
            f" (exercises/{STUBS[exercise].name} differs from {COURSE.ref} and is tested as "
            "on disk, as the course's stub: if it holds your work, `make test` without "
            "LAB_AS_ON_DISK or a named notebook tests the committed stub)"
        )
    assert not problem, problem


@pytest.mark.parametrize("exercise", EXERCISES)
def test_what_check_says_of_your_file_is_reported(exercise, exercise_progress):
    """The learner's own file, in whatever state: reported in the run's summary, never a fault."""
    report = yours(exercise)
    assert isinstance(report, CheckReport) and report.text().startswith(exercise)
    assert report.error or report.total > 0, "a suite that runs has checks"
    exercise_progress[exercise] = (report, COURSE.is_yours(STUBS[exercise]))


def test_report_for_a_stub_shows_the_hint_of_the_first_failure(tmp_path):
    folder, surely_the_stub = course_stub("ex01", tmp_path)
    text = stub_report("ex01", folder).text()
    if not surely_the_stub and "0 of 15 checks pass" not in text:
        pytest.skip("exercises/ex01 may hold your work, and without git the stub cannot be read")
    assert "0 of 15 checks pass" in text
    assert "First to fix:" in text and "hint: the secrets module makes unguessable tokens" in text


def _broken_copy(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "impl"
    folder.mkdir()
    (folder / "ex01_session_lookup.py").write_text(body)
    return folder


def test_a_wrong_answer_shows_the_assert_message_as_hint(tmp_path):
    folder = _broken_copy(
        tmp_path,
        (ROOT / "solutions" / "ex01_session_lookup.py")
        .read_text()
        .replace(">= idle_timeout", "> idle_timeout"),
    )
    report = run_suite("ex01", str(folder))
    assert 0 < report.passed < report.total
    assert (
        "hint: idle for exactly idle_timeout counts as timed out: compare with >=" in report.text()
    )
    assert "what happened: assert" in report.text()


def test_a_syntax_error_is_a_report_not_a_traceback(tmp_path):
    folder = _broken_copy(tmp_path, "def lookup_session(:\n")
    report = run_suite("ex01", str(folder))
    assert report.passed == 0 and report.total == 15
    assert "SyntaxError" in report.text()


def test_an_endless_loop_times_out_into_a_report(tmp_path):
    folder = _broken_copy(
        tmp_path,
        "from labserver.store import key\n"
        "def session_key(s): return key('session', s)\n"
        "def lookup_session(*a, **k):\n    while True: pass\n",
    )
    report = run_suite("ex01", str(folder), timeout=3)
    assert "did not finish within 3 s" in report.text()


def test_unknown_exercise_is_a_report():
    report = check("ex99")
    assert "no exercise called 'ex99'" in report.text() and "ex01" in report.text()


def _failed(report) -> set[str]:
    """The checks that failed, each by its full name and by its name without parameters."""
    names = {r.test for r in report.results if not r.passed}
    return names | {name.split("[")[0] for name in names}


def test_fixation_checks_catch_a_naive_login():
    """Exercise 03's suite fails on a login that promotes the presented session ID."""
    report = run_suite("ex03", str(ROOT / "tests" / "exercises" / "naive"))
    failed = _failed(report)
    assert {
        "test_login_never_reuses_the_presented_id",
        "test_the_planted_id_does_not_become_the_victims_session",
    } <= failed, report.text()


def test_confusion_checks_catch_a_verifier_that_trusts_the_header():
    """Exercise 04's suite fails on a verifier that takes the algorithm from the token."""
    report = run_suite("ex04", str(ROOT / "tests" / "exercises" / "naive"))
    failed = {r.test for r in report.results if not r.passed}
    assert {
        "test_alg_none_is_refused",
        "test_another_algorithm_under_a_known_kid_is_refused[rs256-1-PS256]",
    } <= failed, report.text()


def test_rotation_checks_catch_a_check_then_set_race():
    """Exercise 06's suite fails on a rotation that reads "used" and then sets it."""
    report = run_suite("ex06", str(ROOT / "tests" / "exercises" / "naive"))
    failed = {r.test for r in report.results if not r.passed}
    assert "test_two_refreshes_at_once_cannot_both_succeed" in failed, report.text()


@pytest.mark.parametrize(
    ("exercise", "check"),
    [
        ("ex09", "test_a_token_just_over_the_margin_is_reused"),
        ("ex10", "test_an_origin_must_match_exactly_not_by_prefix"),
    ],
)
def test_bff_checks_catch_their_naive_versions(exercise, check):
    report = run_suite(exercise, str(ROOT / "tests" / "exercises" / "naive"))
    assert check in {r.test for r in report.results if not r.passed}, report.text()


def test_ex20_checks_catch_a_dpop_verifier_that_ignores_the_binding():
    """Exercise 20's suite fails on a proof check that ignores ath, accepts a private jwk and
    spends the jti before the other rules."""
    report = run_suite("ex20", str(ROOT / "tests" / "exercises" / "naive"))
    assert {
        "test_a_proof_without_ath_is_refused",
        "test_ath_must_be_the_hash_of_this_access_token",
        "test_a_jwk_holding_the_private_key_is_refused",
        "test_a_refused_proof_does_not_use_up_its_jti",
    } <= _failed(report), report.text()


def test_ex21_checks_catch_the_samesite_rule_of_browsers_before_2020():
    """Exercise 21's suite fails on a prediction that reads no SameSite as None, sends None
    without Secure and knows nothing of third-party cookie blocking."""
    report = run_suite("ex21", str(ROOT / "tests" / "exercises" / "naive"))
    assert not report.error, report.error
    assert {
        "test_samesite_none_without_secure_is_never_sent",
        "test_none_secure_is_not_sent_to_an_iframe_or_fetch_when_third_party_cookies_are_blocked",
        "test_a_cookie_without_samesite_is_lax_by_default",
        "test_an_older_cookie_without_samesite_is_not_sent_on_a_cross_site_post",
    } <= _failed(report), report.text()


_SOLUTION_LOGIN = """    if presented_session_id:
        delete_session(store, presented_session_id)
"""
_SOLUTION_LOGIN_IMPORT = "import create_session, delete_session"

#: Plausible wrong answers that once got through the check meant to catch them: each is the
#: solution with one edit, with the check that must now fail on it.
WRONG_ANSWERS = {
    "ex01: a hashed clock as the session ID": (
        "ex01",
        [
            ("import secrets\n", "import hashlib\nimport secrets\nimport time\n"),
            (
                "secrets.token_urlsafe(32)",
                "hashlib.sha256(str(time.perf_counter_ns()).encode()).hexdigest()",
            ),
        ],
        "test_ids_do_not_depend_on_the_time",
    ),
    "ex01: 32 random bits, hashed to look long": (
        "ex01",
        [
            ("import secrets\n", "import hashlib\nimport os\nimport secrets\n"),
            ("secrets.token_urlsafe(32)", "hashlib.sha256(os.urandom(4)).hexdigest()"),
        ],
        "test_ids_draw_128_bits_from_the_os_random_source",
    ),
    "ex03: an anonymous pre-login session is kept and given the user (textbook fixation)": (
        "ex03",
        [
            (_SOLUTION_LOGIN_IMPORT, _SOLUTION_LOGIN_IMPORT + ", session_key"),
            (
                _SOLUTION_LOGIN,
                """    record = store.hgetall(session_key(presented_session_id or ""))
    if record and not record.get("user"):
        store.hset(session_key(presented_session_id), "user", username)
        return presented_session_id
""",
            ),
        ],
        "test_the_planted_id_does_not_become_the_victims_session",
    ),
    "ex03: the ID the browser came with is kept as it is": (
        "ex03",
        [
            (_SOLUTION_LOGIN_IMPORT, _SOLUTION_LOGIN_IMPORT + ", session_key"),
            (
                _SOLUTION_LOGIN,
                """    if presented_session_id and store.exists(session_key(presented_session_id)):
        return presented_session_id
""",
            ),
        ],
        "test_the_planted_id_does_not_become_the_victims_session",
    ),
    "ex04: an empty sub is accepted": (
        "ex04",
        [
            ('    if not claims["sub"]:', "    if False:"),
        ],
        "test_an_empty_sub_is_refused",
    ),
    "ex11: the algorithm hard-coded": (
        "ex11",
        [
            ("algorithms=[alg],", 'algorithms=["ES256"],'),
        ],
        "test_every_kind_of_key_still_works",
    ),
    "ex11: the leeway argument deleted": (
        "ex11",
        [
            ("        leeway=leeway,\n", ""),
        ],
        "test_expired_inside_the_leeway_passes",
    ),
    "ex11: the leeway ten times too big": (
        "ex11",
        [
            ("leeway=leeway,", "leeway=leeway * 10,"),
        ],
        "test_expired_just_outside_the_leeway_is_refused",
    ),
    "ex12: named session over HTTPS": (
        "ex12",
        [
            ('"__Host-session", session_id', '"session", session_id'),
        ],
        "test_named_with_the_host_prefix_over_https",
    ),
    "ex12: named __Secure-session over HTTPS": (
        "ex12",
        [
            ('"__Host-session", session_id', '"__Secure-session", session_id'),
        ],
        "test_named_with_the_host_prefix_over_https",
    ),
}


# Chapter 04's identity-provider exercises (ex17-ex19): their naive versions, and one-edit
# wrong answers, each with the checks that must fail on it.


@pytest.mark.parametrize(
    ("exercise", "checks"),
    [
        (
            "ex17",
            {
                "test_the_challenge_uses_the_url_safe_alphabet",
                "test_the_exchange_repeats_the_redirect_uri",
            },
        ),
        (
            "ex18",
            {
                "test_another_algorithm_under_a_known_kid_is_refused[PS256]",
                "test_a_token_typed_as_an_access_token_is_refused",
                "test_several_audiences_need_azp_to_be_this_client",
                "test_a_different_nonce_is_refused",
            },
        ),
        (
            "ex19",
            {
                "test_an_audience_that_merely_contains_the_name_is_refused",
                "test_a_scope_is_a_whole_word_not_a_substring",
            },
        ),
    ],
)
def test_ex17_to_ex19_checks_catch_their_naive_versions(exercise, checks):
    report = run_suite(exercise, str(ROOT / "tests" / "exercises" / "naive"))
    assert not report.error, report.error
    assert checks <= _failed(report), report.text()


#: exercise, edits to its solution, the check that must fail: as WRONG_ANSWERS above.
EX17_TO_EX19_WRONG_ANSWERS = {
    "ex17: the challenge is the hex digest": (
        "ex17",
        [
            (
                'base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")',
                "hashlib.sha256(verifier.encode()).hexdigest()",
            )
        ],
        "test_the_challenge_encodes_the_digest_bytes_not_its_hex",
    ),
    "ex17: the padding is kept": (
        "ex17",
        [('.rstrip(b"=")', "")],
        "test_the_challenge_has_no_padding",
    ),
    "ex17: plain (the challenge is the verifier)": (
        "ex17",
        [
            (
                'return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")',
                "return verifier",
            )
        ],
        "test_the_challenge_is_not_the_verifier",
    ),
    "ex17: standard base64 without padding": (
        "ex17",
        [("base64.urlsafe_b64encode", "base64.b64encode")],
        "test_the_challenge_uses_the_url_safe_alphabet",
    ),
    "ex17: the verifier from the random module": (
        "ex17",
        [
            ("import secrets\n", "import random\nimport secrets\nimport string\n"),
            (
                "return secrets.token_urlsafe(32)",
                'return "".join(random.choices(string.ascii_letters + string.digits, k=64))',
            ),
        ],
        "test_verifiers_do_not_come_from_the_random_module",
    ),
    "ex17: a 128-bit verifier": (
        "ex17",
        [("secrets.token_urlsafe(32)", "secrets.token_urlsafe(16)")],
        "test_a_verifier_is_43_to_128_unreserved_characters",
    ),
    "ex17: a 64-character verifier of 128 bits": (
        "ex17",
        [("secrets.token_urlsafe(32)", "secrets.token_hex(16) * 2")],
        "test_a_verifier_draws_256_bits_from_the_os_random_source",
    ),
    "ex17: the verifier checked by its start only": (
        "ex17",
        [("VERIFIER.fullmatch(verifier)", "VERIFIER.match(verifier)")],
        "test_a_verifier_outside_the_rules_is_refused",
    ),
    "ex17: no redirect_uri in the exchange": (
        "ex17",
        [('        "redirect_uri": redirect_uri,', "        # redirect_uri left out")],
        "test_the_exchange_repeats_the_redirect_uri",
    ),
    "ex17: the challenge sent instead of the verifier": (
        "ex17",
        [('"code_verifier": verifier,', '"code_verifier": code_challenge(verifier),')],
        "test_the_exchange_sends_the_verifier_not_the_challenge",
    ),
    "ex18: the signature not verified": (
        "ex18",
        [('"require": [', '"verify_signature": False,\n            "require": [')],
        "test_a_forged_signature_is_refused",
    ),
    "ex18: an access token taken for an ID token": (
        "ex18",
        [("    if str(typ).lower() in ACCESS_TOKEN_TYPES:", "    if False:")],
        "test_a_token_typed_as_an_access_token_is_refused",
    ),
    "ex18: the nonce forgotten": (
        "ex18",
        [('    if claims.get("nonce") != nonce:', "    if False:")],
        "test_a_different_nonce_is_refused",
    ),
    "ex18: aud checked as a substring": (
        "ex18",
        [
            ("        audience=client_id,\n", ""),
            ('"verify_iat": False,', '"verify_iat": False,\n            "verify_aud": False,'),
            (
                "    several = ",
                '    if client_id not in claims["aud"]:\n'
                '        raise jwt.InvalidAudienceError("not for this client")\n'
                "    several = ",
            ),
        ],
        "test_an_audience_that_only_contains_the_client_id_as_text_is_refused",
    ),
    "ex18: the header's alg trusted": (
        "ex18",
        [
            (
                "algorithms=[key.algorithm_name],",
                'algorithms=[jwt.get_unverified_header(id_token)["alg"]],',
            )
        ],
        "test_another_algorithm_under_a_known_kid_is_refused",
    ),
    "ex18: a shared-secret key accepted": (
        "ex18",
        [
            (
                'if jwk.get("kty") == "oct" or alg == "none" or alg.startswith("HS"):',
                'if alg == "none":',
            )
        ],
        "test_a_shared_secret_key_is_refused",
    ),
    "ex18: no azp with several audiences": (
        "ex18",
        [('    if several and "azp" not in claims:', "    if False:")],
        "test_several_audiences_need_azp_to_be_this_client",
    ),
    "ex18: exp compared with time.time()": (
        "ex18",
        [
            ("import math\n", "import math\nimport time\n"),
            (
                'if not now < claims["exp"] + leeway:',
                'if not time.time() < claims["exp"] + leeway:',
            ),
        ],
        "test_expiry_is_judged_at_now_not_the_wall_clock",
    ),
    "ex18: PyJWT's wall-clock time checks left on": (
        "ex18",
        [('"verify_exp": False,', '"verify_exp": True,'), ('"verify_iat": False,', "")],
        "test_expiry_is_judged_at_now_not_the_wall_clock",
    ),
    "ex18: a token at its exp second accepted": (
        "ex18",
        [('if not now < claims["exp"] + leeway:', 'if now > claims["exp"] + leeway:')],
        "test_an_expired_token_is_refused",
    ),
    "ex19: scope checked as a substring": (
        "ex19",
        [('granted = set(scope.split(" "))', "granted = scope")],
        "test_a_scope_is_a_whole_word_not_a_substring",
    ),
    "ex19: scope taken as a list of characters": (
        "ex19",
        [('granted = set(scope.split(" "))', "granted = set(scope)")],
        "test_the_scope_claim_is_split_on_spaces",
    ),
    'ex19: "orders" in aud, on a string aud': (
        "ex19",
        [
            ("audiences = [aud] if isinstance(aud, str) else aud", "audiences = aud"),
            ("if not isinstance(audiences, list) or audience", "if audience"),
        ],
        "test_an_audience_that_merely_contains_the_name_is_refused",
    ),
    "ex19: 401 for a missing scope": (
        "ex19",
        [('AccessDenied(403, "insufficient_scope"', 'AccessDenied(401, "invalid_token"')],
        "test_a_missing_scope_is_403_insufficient_scope",
    ),
    "ex19: 403 for a wrong audience": (
        "ex19",
        [
            (
                'AccessDenied(401, "invalid_token", f"the token',
                'AccessDenied(403, "insufficient_scope", f"the token',
            )
        ],
        "test_a_token_for_another_service_is_401_invalid_token",
    ),
    "ex19: a scope list split like a string": (
        "ex19",
        [("    if not isinstance(scope, str):", "    if False:")],
        "test_a_scope_claim_that_is_not_a_string_is_401",
    ),
    "ex19: a missing scope claim read with []": (
        "ex19",
        [('claims.get("scope", "")', 'claims["scope"]')],
        "test_no_scope_means_no_scopes",
    ),
}


#: Chapter 08's exercise 21: exercise, edits to its solution, the check that must fail.
EX21_WRONG_ANSWERS = {
    "ex21: Secure not required of SameSite=None": (
        "ex21",
        [('    if samesite == "None" and not cookie.get("secure"):', "    if False:")],
        "test_samesite_none_without_secure_is_never_sent",
    ),
    "ex21: same-site requests judged like cross-site ones": (
        "ex21",
        [('    if request["site"] == "same-site":', "    if False:")],
        "test_a_same_site_request_carries_every_stored_cookie",
    ),
    "ex21: no SameSite read as None": (
        "ex21",
        [('    if samesite == "None":\n', '    if samesite in ("None", None):\n')],
        "test_a_cookie_without_samesite_is_lax_by_default",
    ),
    "ex21: third-party cookie blocking ignored": (
        "ex21",
        [('return kind in TOP_LEVEL or request["third_party_cookies"]', "return True")],
        "test_none_secure_is_not_sent_to_an_iframe_or_fetch_when_third_party_cookies_are_blocked",
    ),
    "ex21: third-party cookie blocking applied to top-level navigations": (
        "ex21",
        [
            (
                'return kind in TOP_LEVEL or request["third_party_cookies"]',
                'return request["third_party_cookies"]',
            )
        ],
        "test_none_secure_is_sent_on_top_level_navigations_when_third_party_cookies_are_blocked",
    ),
    "ex21: Strict sent with a cross-site link": (
        "ex21",
        [
            (
                '    if samesite == "Strict":',
                '    if samesite == "Strict" and kind != "top-level GET":',
            )
        ],
        "test_strict_is_never_sent_cross_site",
    ),
    "ex21: Lax lets every GET through, iframes and fetches included": (
        "ex21",
        [
            (
                '    if kind == "top-level GET":',
                '    if kind in ("top-level GET", "iframe", "fetch"):',
            )
        ],
        "test_lax_is_not_sent_to_an_iframe_or_fetch",
    ),
    "ex21: the 2-minute grace given to Lax too": (
        "ex21",
        [
            (
                '    if samesite is None and kind == "top-level POST":',
                '    if kind == "top-level POST":',
            )
        ],
        "test_lax_is_not_sent_on_a_cross_site_post_even_when_new",
    ),
    "ex21: no 2-minute grace for POSTs": (
        "ex21",
        [('    if samesite is None and kind == "top-level POST":', "    if False:")],
        "test_a_new_cookie_without_samesite_is_sent_on_a_cross_site_post",
    ),
    "ex21: a grace that never ends": (
        "ex21",
        [('return cookie["age_seconds"] < LAX_ALLOWING_UNSAFE_SECONDS', "return True")],
        "test_an_older_cookie_without_samesite_is_not_sent_on_a_cross_site_post",
    ),
    "ex21: the grace measured in minutes": (
        "ex21",
        [('cookie["age_seconds"] < LAX_ALLOWING_UNSAFE_SECONDS', 'cookie["age_seconds"] < 2')],
        "test_a_new_cookie_without_samesite_is_sent_on_a_cross_site_post",
    ),
    "ex21: None returned for not sent": (
        "ex21",
        [("        return False  # refused when set", "        return None  # refused when set")],
        "test_the_answer_is_true_or_false",
    ),
}


ALL_WRONG_ANSWERS = {**WRONG_ANSWERS, **EX17_TO_EX19_WRONG_ANSWERS, **EX21_WRONG_ANSWERS}


@pytest.mark.parametrize("wrong", ALL_WRONG_ANSWERS)
def test_a_plausible_wrong_answer_fails_its_check(tmp_path, wrong):
    """Each wrong answer above fails the check that is there to catch it."""
    exercise, edits, check_name = ALL_WRONG_ANSWERS[wrong]
    solution = next((ROOT / "solutions").glob(f"{exercise}_*.py"))
    text = solution.read_text()
    for old, new in edits:
        assert old in text, (
            f"solutions/{solution.name} no longer holds {old!r}: update this wrong answer"
        )
        text = text.replace(old, new)
    folder = tmp_path / "wrong"
    folder.mkdir()
    (folder / solution.name).write_text(text)
    report = run_suite(exercise, str(folder))
    assert not report.error, report.error
    assert check_name in _failed(report), report.text()


def test_a_parametrized_checks_cases_share_one_line_that_names_the_failing_ones():
    from labserver.checking import CheckResult

    def result(doc, outcome):
        return CheckResult(test=doc, doc=doc, outcome=outcome)

    report = CheckReport(
        "ex99",
        "exercises/ex99.py",
        [
            result("A rule holds. [a]", "passed"),
            result("A rule holds. [b]", "failed"),
            result("A rule holds. [c]", "failed"),
            result("Another rule. [x]", "passed"),
            result("Another rule. [y]", "passed"),
            result("Alone. [only]", "failed"),
            result("Plain.", "passed"),
        ],
    )
    lines = report.text().splitlines()
    assert lines[0] == "ex99 · 4 of 7 checks pass   (exercises/ex99.py)"
    assert lines[1:5] == [
        "  ✗ A rule holds. (fails for: b, c)",
        "  ✓ Another rule. (all 2 cases)",
        "  ✗ Alone. [only]",
        "  ✓ Plain.",
    ]
    assert "First to fix: A rule holds. [b]" in lines
