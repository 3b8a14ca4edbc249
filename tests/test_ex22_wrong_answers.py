"""Exercise 22's suite catches plausible wrong answers to the library quiz.

As tests/test_exercise_harness.py does for the other exercises: a naive copy (answers guessed
from the function names) and one-edit wrong answers, each with the check that must fail on it.
"""

import pytest

from labserver.checking import ROOT, run_suite

SOLUTION = ROOT / "solutions" / "ex22_tell_parse_from_verify.py"


def _failed(report) -> set[str]:
    """The checks that failed, each by its full name and by its name without parameters."""
    names = {r.test for r in report.results if not r.passed}
    return names | {name.split("[")[0] for name in names}


def test_the_quiz_answered_from_the_names_fails_where_it_is_wrong():
    report = run_suite("ex22", str(ROOT / "tests" / "exercises" / "naive"))
    assert not report.error, report.error
    assert _failed(report) == {
        "test_decode_with_verify_signature_false[exp]",
        "test_decode_complete_with_a_key[signature]",
        "test_decode_complete_with_a_key[exp]",
        "test_decode_complete_with_a_key[aud]",
        "test_the_jws_layers_decode[exp]",
        "test_the_jws_layers_decode[aud]",
        "test_decode_with_the_signature_off_and_exp_on[signature]",
        "test_only_the_calls_that_verify_the_signature_can_be_trusted",
        "test_decode_with_verify_signature_false",
        "test_decode_complete_with_a_key",
        "test_the_jws_layers_decode",
        "test_decode_with_the_signature_off_and_exp_on",
    }, report.text()
    assert "hint: decode_without_signature does not check exp: with the signature check off" in (
        report.text()
    )


#: wrong answer -> (edits to the solution, the check that must fail on it)
WRONG_ANSWERS = {
    "decode_complete does not verify": (
        [('"decode_complete": {"signature", "exp", "aud"}', '"decode_complete": set()')],
        "test_decode_complete_with_a_key[signature]",
    ),
    "verify_signature False still checks exp": (
        [('"decode_without_signature": set()', '"decode_without_signature": {"exp"}')],
        "test_decode_with_verify_signature_false[exp]",
    ),
    "verify_exp False turns the signature check off too": (
        [('"decode_without_exp": {"signature", "aud"}', '"decode_without_exp": {"aud"}')],
        "test_decode_with_verify_exp_false[signature]",
    ),
    "verify_exp False turns the aud check off too": (
        [('"decode_without_exp": {"signature", "aud"}', '"decode_without_exp": {"signature"}')],
        "test_decode_with_verify_exp_false[aud]",
    ),
    "the JWS layer checks exp": (
        [('"jws_decode": {"signature"}', '"jws_decode": {"signature", "exp"}')],
        "test_the_jws_layers_decode[exp]",
    ),
    "a checked exp means a verified token": (
        [('"decode_exp_only": {"exp"}', '"decode_exp_only": {"signature", "exp"}')],
        "test_only_the_calls_that_verify_the_signature_can_be_trusted",
    ),
    "get_unverified_header verifies": (
        [('"get_unverified_header": set()', '"get_unverified_header": {"signature"}')],
        "test_get_unverified_header[signature]",
    ),
    "the answers as lists": (
        [("return set(ANSWERS[call])", "return list(ANSWERS[call])")],
        "test_get_unverified_header[signature]",
    ),
    "a misspelt check name": (
        [('"jws_decode": {"signature"}', '"jws_decode": {"sig"}')],
        "test_the_jws_layers_decode[exp]",
    ),
}


@pytest.mark.parametrize("wrong", WRONG_ANSWERS)
def test_a_plausible_wrong_answer_fails_its_check(tmp_path, wrong):
    edits, check_name = WRONG_ANSWERS[wrong]
    text = SOLUTION.read_text()
    for old, new in edits:
        assert old in text, f"solutions/{SOLUTION.name} no longer holds {old!r}: update this case"
        text = text.replace(old, new)
    folder = tmp_path / "wrong"
    folder.mkdir()
    (folder / SOLUTION.name).write_text(text)
    report = run_suite("ex22", str(folder))
    assert not report.error, report.error
    assert check_name in _failed(report), report.text()
