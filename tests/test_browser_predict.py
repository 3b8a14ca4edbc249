"""Chapter 08's comparison of a SameSite prediction with Chromium's table, without a browser.

The observed tables are the ones Chromium 156 produced (see tests/exercises/test_ex21_*.py);
the predictions are exercise 21's solution, its naive version, its stub, and broken functions.
"""

import importlib.util

import pytest

from labserver.browser.predict import COOKIES, KINDS, Comparison, compare
from labserver.chapters.browser_pages import SAMESITE_COOKIES
from labserver.checking import ROOT

SENT_BLOCKING = {
    ("top-level GET", "lax"),
    ("top-level GET", "none_secure"),
    ("top-level GET", "unset"),
    ("top-level POST", "none_secure"),
    ("top-level POST", "unset"),
}
SENT_ALLOWING = SENT_BLOCKING | {("iframe", "none_secure"), ("fetch", "none_secure")}


def table(sent):
    return {(kind, cookie): (kind, cookie) in sent for kind in KINDS for cookie in COOKIES}


def load(folder, name="ex21_predict_samesite"):
    spec = importlib.util.spec_from_file_location(f"predict_{folder}", ROOT / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cookie_is_sent


def test_the_columns_are_the_labs_five_cookies_in_order():
    assert list(COOKIES) == [name for name, _ in SAMESITE_COOKIES]
    assert COOKIES["none_secure"] == {"samesite": "None", "secure": True}
    assert COOKIES["unset"] == {"samesite": None, "secure": False}


def test_the_solution_agrees_with_chromium_on_every_cell():
    text = compare(load("solutions"), table(SENT_BLOCKING))
    assert text.splitlines() == [
        "Cross-site requests, third-party cookies blocked: was the cookie sent?",
        "(each cell: your prediction/what Chromium did; ✗ where they differ)",
        "                strict     lax        none_secure  none_insecure  unset",
        "top-level GET   no/no      yes/yes    yes/yes      no/no          yes/yes",
        "top-level POST  no/no      no/no      yes/yes      no/no          yes/yes",
        "iframe          no/no      no/no      no/no        no/no          no/no",
        "fetch           no/no      no/no      no/no        no/no          no/no",
        "You and Chromium agree on all 20 cells.",
    ]


def test_the_prediction_is_asked_about_the_same_setting_as_measured():
    text = compare(load("solutions"), table(SENT_ALLOWING), third_party_cookies=True)
    assert text.startswith("Cross-site requests, third-party cookies allowed:")
    assert "iframe          no/no      no/no      yes/yes" in text
    assert text.endswith("You and Chromium agree on all 20 cells.")


def test_each_disagreement_is_marked_and_counted():
    text = compare(load("tests/exercises/naive"), table(SENT_BLOCKING))
    rows = text.splitlines()
    assert rows[3] == "top-level GET   no/no      yes/yes    yes/yes      yes/no ✗       yes/yes"
    assert rows[5] == "iframe          no/no      no/no      yes/no ✗     yes/no ✗       yes/no ✗"
    assert rows[-1] == "You and Chromium agree on 12 of 20 cells (✗ marks the other 8)."


def test_the_cookies_age_is_passed_to_the_prediction():
    ages = set()

    def predict(cookie, request):
        ages.add(cookie["age_seconds"])
        assert request["site"] == "cross-site" and request["third_party_cookies"] is False
        return False

    compare(predict, table(set()), age_seconds=125.0)
    assert ages == {125.0}


def test_the_untouched_stub_says_to_write_it_first():
    text = compare(load("exercises"), table(SENT_BLOCKING))
    assert text == (
        "cookie_is_sent is not written yet (it raises NotImplementedError): write your "
        "prediction in exercise 21 first, then run this cell again."
    )


def test_a_prediction_that_raises_on_some_cells_is_reported_not_raised():
    def predict(cookie, request):
        if request["kind"] == "fetch":
            raise KeyError("kind")
        return cookie["samesite"] == "None"

    text = compare(predict, table(SENT_BLOCKING))
    assert "fetch           ?/no ✗     ?/no ✗     ?/no ✗       ?/no ✗         ?/no ✗" in text
    assert text.splitlines()[-1] == (
        "predict raised on 5 of 20 cells (shown ?); the first, fetch × strict: KeyError: 'kind'"
    )


def test_an_answer_that_is_not_a_bool_is_shown_as_unknown():
    text = compare(lambda cookie, request: None, table(set()))
    assert "top-level GET   ?/no ✗" in text
    assert "You and Chromium agree on 0 of 20 cells (✗ marks the other 20)." in text
    assert (
        text.splitlines()[-1] == "<lambda> returned NoneType where True or False was due (shown ?)."
    )


def test_cells_not_measured_are_shown_and_not_counted():
    observed = {("top-level GET", "lax"): True, ("iframe", "lax"): True}
    text = compare(load("solutions"), observed)
    assert "top-level GET   no/?       yes/yes" in text
    assert "iframe          no/?       no/yes ✗" in text
    assert text.splitlines()[-1] == "You and Chromium agree on 1 of 2 cells (✗ marks the other 1)."
    assert compare(load("solutions"), {}).splitlines()[-1] == "Nothing measured to compare with."


@pytest.mark.parametrize(
    ("observed", "message"),
    [
        ({("top-level PUT", "lax"): True}, "observed key"),
        ({("iframe", "session"): True}, "observed key"),
        ({"iframe": True}, "observed key"),
        ({("iframe", "lax"): "yes"}, "expected True"),
    ],
)
def test_an_observed_table_that_is_not_one_is_explained(observed, message):
    with pytest.raises(ValueError, match=message):
        compare(load("solutions"), observed)


def test_a_notebook_shows_the_text_itself():
    from IPython.lib.pretty import pretty

    text = compare(load("solutions"), table(SENT_BLOCKING))
    assert isinstance(text, Comparison) and isinstance(text, str)
    assert pretty(text) == str(text)
