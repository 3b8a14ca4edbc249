"""Chapters 07 and 08's lab pages (no browser needed): what they echo is text, never markup."""

from __future__ import annotations

import pytest

from labserver import create_app

#: Chromium stores this name as it is (no "=", ";" or space in it), and sends it to every port
#: of 127.0.0.1: any other server on this host can set it.
SCRIPT_NAME = "<script>history.pushState({},'','/pwned')</script>"


@pytest.mark.parametrize("path", ["/browser/arrived", "/browser/scope/inside/"])
def test_a_cookie_name_that_is_markup_is_shown_as_text(path):
    client = create_app({"SEED_DEMO_USERS": False}).test_client(use_cookies=False)
    page = client.get(path, headers={"Cookie": f"{SCRIPT_NAME}=1; ok=1"}).get_data(as_text=True)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page and "ok" in page
