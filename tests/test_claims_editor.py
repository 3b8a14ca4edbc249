"""The claims editor, driven like a learner drives it: set values, click buttons."""

import jwt
import pytest

from labserver import LabClock, start_lab
from labserver.widgets import ClaimsEditor


@pytest.fixture
def editor():
    with start_lab(clock=LabClock.frozen(), replace=False) as lab:
        yield ClaimsEditor(lab)


def click_verify(editor):
    editor.verify_button.click()
    return editor.verdict.value


def test_a_fresh_token_is_accepted_and_the_server_saw_it(editor):
    assert "✓ 200 accepted" in click_verify(editor)
    sent = editor.lab.request_log.last()[0]
    assert (sent.method, sent.path, sent.status) == ("GET", "/api/me", 200)
    assert sent.credential.startswith("Bearer eyJ")


def test_editing_a_field_re_signs_and_the_verdict_follows(editor):
    before = editor.token()
    editor.sub.value = "bob"
    assert editor.token() != before
    assert jwt.decode(editor.token(), options={"verify_signature": False})["sub"] == "bob"
    assert "press" in editor.verdict.value, "a new token clears the old verdict"
    assert "sub &#x27;bob&#x27;" in click_verify(editor)


@pytest.mark.parametrize(
    ("control", "value", "expected"),
    [
        ("aud", "https://other-api.test", "wrong audience"),
        ("iss", "https://evil.test", "wrong issuer"),
        ("expires_in", -2, "expired"),
        ("nbf_in", 5, "not yet valid"),
        ("alg", "none", "algorithm not allowed"),
        ("signer", "foreign", "bad signature"),
        ("signer", "unknown-kid", "unknown key"),
    ],
)
def test_each_control_reaches_the_servers_rule(editor, control, value, expected):
    getattr(editor, control).value = value
    verdict = click_verify(editor)
    assert "✗ 401 invalid_token" in verdict and expected in verdict


@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256", "EdDSA"])
def test_every_algorithm_signs_a_token_the_lab_accepts(editor, alg):
    editor.alg.value = alg
    assert jwt.get_unverified_header(editor.token())["alg"] == alg
    assert "✓ 200" in click_verify(editor)


def test_tamper_keeps_the_signature_and_fails_it(editor):
    signature = editor.token().rsplit(".", 1)[1]
    editor.tamper_button.click()
    assert editor.token().rsplit(".", 1)[1] == signature
    assert jwt.decode(editor.token(), options={"verify_signature": False})["roles"] == ["admin"]
    assert "tampered" in editor.decoded.value
    assert "bad signature" in click_verify(editor)
    editor.roles.value = "user, editor"  # any edit re-signs
    assert "✓ 200" in click_verify(editor)


def test_the_encoded_token_is_shown_in_three_colours(editor):
    html = editor.encoded.value
    assert html.count("<span") == 3 and all(part in html for part in editor.token().split("."))


def test_roles_are_split_on_commas(editor):
    editor.roles.value = " user , editor,,"
    assert jwt.decode(editor.token(), options={"verify_signature": False})["roles"] == [
        "user",
        "editor",
    ]


def test_plain_text_view_is_stable(editor):
    assert editor._repr_mimebundle_()["text/plain"].startswith("ClaimsEditor")


def test_verify_signs_the_form_afresh_unless_tampered(editor):
    editor.lab.clock.advance(3600)  # the token shown was issued an hour ago
    assert "✓ 200" in click_verify(editor), "the form's token is issued at the moment of verifying"
    editor.tamper_button.click()
    editor.lab.clock.advance(3600)
    assert "bad signature" in click_verify(editor), "a tampered token is sent as it is"
