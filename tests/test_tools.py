"""The debugging tools: decoder, timestamp converter, cookie inspector (and their widgets and
commands). They must explain garbage, never crash on it."""

import json
import subprocess
import sys

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labserver.checking import ROOT
from labserver.keys import KeyRing
from labserver.tools.cookies import inspect
from labserver.tools.decoder import decode
from labserver.tools.timestamps import convert
from labserver.widgets import CookieWidget, DecoderWidget, TimestampWidget

from .test_tokens import RFC_VECTORS

NOW = 1_800_000_000


# --- decoder ---


@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256", "EdDSA"])
def test_decoder_shows_and_verifies_the_rfc_examples(alg):
    jwk, token = RFC_VECTORS[alg]
    shown = decode(token, now=1300819000)
    assert shown.header["alg"] == alg and not shown.verified and "NOT VERIFIED" in shown.text()
    if alg != "EdDSA":
        assert shown.payload == {
            "iss": "joe",
            "exp": 1300819380,
            "http://example.com/is_root": True,
        }
        assert any(t.startswith("exp") and "2011-03-22T18:43:00Z" in t for t in shown.times)
    else:
        assert shown.payload == "Example of Ed25519 signing"
    checked = decode(token, now=1300819000, key={**jwk, "alg": alg})
    assert checked.verified, checked.verification
    assert "[VERIFIED]" in checked.text()


def test_decoder_names_the_failing_rule():
    keys = KeyRing()
    key = keys.current("ES256")
    token = jwt.encode(
        {"sub": "a", "aud": "x", "exp": NOW - 60, "iat": NOW - 360},
        key.signing_key,
        algorithm="ES256",
        headers={"kid": key.kid},
    )
    jwks = keys.jwks()
    report = decode(token, now=NOW, key=jwks, audience="y")
    assert not report.verified
    assert "signature OK" in report.verification and "expired 1 min ago" in report.verification
    assert "wrong audience" in report.verification
    other = KeyRing().jwks()
    other["keys"] = [{**k, "kid": "es256-1"} for k in other["keys"] if k["alg"] == "ES256"]
    assert decode(token, now=NOW, key=other).verification.startswith("bad signature")


def test_decoder_spots_a_base64_secret_used_as_text():
    secret = b"\x8f" * 32
    token = jwt.encode({"sub": "a", "exp": NOW + 60}, secret, algorithm="HS256")
    from jwt.utils import base64url_encode

    report = decode(token, now=NOW, key=base64url_encode(secret).decode())
    assert "base64url-decoded first" in report.verification


@pytest.mark.parametrize(
    ("pasted", "note"),
    [
        ("Bearer {t}", "Bearer"),
        ("Authorization: Bearer {t}", "Authorization"),
        ("  {t}\n", "white space"),
        ('"{t}"', "quotes"),
        ("{head}\n.{rest}", "inside"),
    ],
)
def test_decoder_cleans_what_people_paste(pasted, note):
    token = jwt.encode(
        {"sub": "a", "iss": "i", "aud": "b", "exp": NOW + 60}, b"k" * 32, algorithm="HS256"
    )
    head, rest = token.split(".", 1)
    report = decode(pasted.format(t=token, head=head, rest=rest), now=NOW)
    assert report.error == "" and report.token == token
    assert any(note in w for w in report.warnings)


@pytest.mark.parametrize(
    ("claims", "header", "warning"),
    [
        ({"sub": "a"}, {}, "no exp"),
        ({"sub": "a", "exp": NOW + 60}, {"alg": "none"}, "unsigned"),
        ({"sub": "a", "exp": NOW + 3 * 86400, "iat": NOW}, {}, "over a day"),
        ({"sub": "a", "exp": NOW + 60, "password": "hunter2"}, {}, "'password' looks sensitive"),
        ({"sub": "a", "exp": NOW + 60, "note": "card 4111 1111 1111 1111"}, {}, "card number"),
        ({"sub": 42, "exp": NOW + 60}, {}, "not a string"),
        ({"sub": "a", "exp": (NOW + 60) * 1000}, {}, "milliseconds"),
        ({"sub": "a", "exp": NOW - 7200}, {}, "expired 2 h ago"),
        ({"sub": "a", "exp": NOW + 60}, {"jku": "https://evil.test/jwks"}, "'jku'"),
    ],
)
def test_decoder_warnings(claims, header, warning):
    from labserver.forge import encode_unsigned

    token = encode_unsigned({"alg": "HS256", "typ": "JWT", **header}, claims)
    report = decode(token, now=NOW)
    assert any(warning in w for w in report.warnings), report.warnings


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=400),
        st.text("eyJAbc.-_=+/ \n", max_size=200),
        st.builds(
            lambda a, b, c: f"{a}.{b}.{c}",
            st.text(max_size=40),
            st.text(max_size=40),
            st.text(max_size=40),
        ),
    )
)
def test_decoder_never_crashes_and_explains_garbage(text):
    report = decode(text, now=NOW)
    out = report.text()
    assert isinstance(out, str) and out
    if report.error:
        assert out.startswith("not a JWT: ")


# --- timestamps ---


def test_timestamps_detect_the_unit():
    assert "seconds" in convert("1800000000", NOW).unit
    assert "milliseconds" in convert(1800000000000, NOW).unit
    assert convert("1800000000000", NOW).seconds == NOW
    assert convert("2027-01-15T08:00:00Z", NOW).seconds == NOW
    report = convert(NOW - 3 * 3600, NOW)
    assert "3 h ago" in report.text() and "expired 3 h ago" in report.text()
    assert "not valid yet: becomes valid in 5 min" in convert(NOW + 300, NOW).text()


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
    )
)
def test_timestamps_never_crash(value):
    report = convert(value, NOW)
    assert report.text()
    assert bool(report.error) != bool(report.lines)


# --- cookies ---


@pytest.mark.parametrize(
    ("header", "url", "api", "problem"),
    [
        ("s=1; SameSite=None", None, None, "SameSite=None without Secure"),
        ("s=1; Secure", "http://app.example.test/", None, "login loop"),
        ("__Host-s=1; Secure; Path=/; Domain=example.test", None, None, "__Host- prefix"),
        ("__Secure-s=1", None, None, "__Secure- prefix"),
        ("s=1; Domain=other.test", "http://app.example.test/", None, "does not match the host"),
        (
            "s=1; Path=/app",
            "http://127.0.0.1/",
            "http://127.0.0.1/api/me",
            "does not cover /api/me",
        ),
        ("s=1; Path=/ap", "http://127.0.0.1/", "http://127.0.0.1/api/me", "does not cover /api/me"),
        ("s=" + "x" * 4096, None, None, "over 4096 bytes"),
    ],
)
def test_cookie_problems(header, url, api, problem):
    report = inspect(header, url=url, api_url=api)
    assert not report.ok and any(problem in p for p in report.problems), report.problems


def test_a_good_session_cookie_passes():
    report = inspect(
        "Set-Cookie: __Host-session=abc; Secure; HttpOnly; Path=/; SameSite=Lax",
        url="https://app.example.test/login",
        api_url="https://app.example.test/api/me",
    )
    assert report.ok and report.warnings == [] and "✓" in report.text()
    assert inspect("s=1; Path=/api", api_url="http://h/api/me").ok


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=300),
    st.one_of(st.none(), st.text(max_size=40)),
    st.one_of(st.none(), st.text(max_size=40)),
)
def test_cookie_inspector_never_crashes(header, url, api):
    report = inspect(header, url=url, api_url=api)
    assert report.text()
    if report.error:
        assert report.text().startswith("not a Set-Cookie header: ")


# --- widgets and commands ---


def test_widgets_follow_their_input():
    d = DecoderWidget()
    d.input.value = "Bearer not-a-token"
    assert "not a JWT" in d.output.value
    t = TimestampWidget(now=lambda: NOW)
    t.input.value = str(NOW + 60)
    assert "in 1 min" in t.output.value
    c = CookieWidget("s=1; Secure")
    c.url.value = "http://app.example.test/"
    assert "login loop" in c.output.value
    assert c._repr_mimebundle_()["text/plain"].startswith("CookieWidget")


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "labserver", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_commands(tmp_path):
    jwk, token = RFC_VECTORS["HS256"]
    keyfile = tmp_path / "jwk.json"
    keyfile.write_text(json.dumps({**jwk, "alg": "HS256"}))
    decoded = run("decode", f"Bearer {token}", "--key", str(keyfile))
    assert decoded.returncode == 0
    assert "signature OK" in decoded.stdout and "Bearer" in decoded.stdout
    assert run("decode", "garbage").returncode == 1
    assert "milliseconds" in run("time", "1700000000000").stdout
    cookie = run("cookie", "Set-Cookie: sid=1; SameSite=None")
    assert cookie.returncode == 1 and "without Secure" in cookie.stdout


# --- review findings: odd input the tools must explain, not crash on -----------------------


def _raw_token(header: dict, claims_json: str) -> str:
    import base64
    import json

    part = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    return f"{part(json.dumps(header).encode())}.{part(claims_json.encode())}.{part(b'sig')}"


@pytest.mark.parametrize(
    "claims_json",
    [
        '{"exp": 1' + "0" * 400 + "}",
        '{"exp": -Infinity}',
        '{"exp": Infinity}',
        '{"iat": 1e308, "exp": -1e308}',
        '{"exp": 1700000000000}',
    ],
)
def test_the_decoder_survives_absurd_times(claims_json):
    from labserver.tools.decoder import decode

    report = decode(_raw_token({"alg": "HS256"}, claims_json), now=1.8e9, key="k" * 32)
    assert not report.error and report.text()


def test_a_millisecond_exp_is_called_out():
    from labserver.tools.decoder import decode

    report = decode(_raw_token({"alg": "HS256"}, '{"exp": 1800000300000}'), now=1.8e9)
    assert any("milliseconds" in w and "thousands of years" in w for w in report.warnings)


@pytest.mark.parametrize(
    "key",
    [
        {"kty": "oct"},
        {"keys": ["x"]},
        {"keys": "x"},
        {"keys": [{"kid": 1}]},
        {"kty": "RSA", "n": "!"},
    ],
)
def test_the_decoder_explains_an_unusable_key(key):
    from labserver.tools.decoder import decode

    token = jwt.encode({"sub": "a"}, "k" * 32, algorithm="HS256", headers={"kid": "a"})
    report = decode(token, key=key)
    assert not report.verified and "cannot be used" in report.verification


def test_a_short_secret_is_a_warning_not_stderr(recwarn):
    from labserver.tools.decoder import decode

    token = jwt.encode({"sub": "a"}, "k" * 32, algorithm="HS256")
    report = decode(token, key="short")
    assert any("PyJWT warns" in w for w in report.warnings)
    assert not [w for w in recwarn if "HMAC key" in str(w.message)]


@pytest.mark.parametrize(
    "claims, problem",
    [
        ({"aud": "x"}, "no audience was given"),
        ({"sub": 1}, "requires a string"),
        ({"iat": 1_800_000_600}, "issued in the future"),
    ],
)
def test_verified_means_what_pyjwt_would_accept(claims, problem):
    from labserver.tools.decoder import decode

    token = jwt.encode({"exp": 1_800_000_300, **claims}, "k" * 32, algorithm="HS256")
    report = decode(token, key="k" * 32, now=1_800_000_000)
    assert not report.verified and problem in report.verification


@pytest.mark.parametrize(
    "url, api_url",
    [("https://[::1/x", None), (None, "http://[zz/api"), ("https://a.test", "https://[::1")],
)
def test_the_cookie_inspector_explains_broken_urls(url, api_url):
    from labserver.tools.cookies import inspect

    report = inspect("Set-Cookie: s=1; Path=/", url=url, api_url=api_url)
    assert any("not a URL this inspector can read" in p for p in report.problems)


def test_a_cookie_without_path_gets_the_folder_of_the_url_that_set_it():
    from labserver.tools.cookies import default_path, inspect

    paths = ("/", "/login", "/auth/login", "/a/b/c", "x")
    assert [default_path(p) for p in paths] == ["/", "/", "/auth", "/a/b", "/"]
    header = "Set-Cookie: session=abc; Secure; HttpOnly; SameSite=Lax"
    report = inspect(header, url="https://a.test/auth/login", api_url="https://a.test/api/me")
    assert any("does not cover /api/me" in p for p in report.problems)
    same_folder = inspect(header, url="https://a.test/auth/login", api_url="https://a.test/auth/me")
    assert same_folder.ok


@pytest.mark.parametrize(
    "header, explained",
    [
        ("s=1; Partitioned; Secure; Path=/; SameSite=None", "Partitioned (CHIPS)"),
        ("s=1; Priority=High; SameSite=Lax", "Priority=High"),
    ],
)
def test_newer_cookie_attributes_are_explained(header, explained):
    from labserver.tools.cookies import inspect

    report = inspect(header)
    assert not report.error and any(explained in a for a in report.attributes)


@pytest.mark.parametrize(
    "header", ["s=1; Max-Age=-5", "s=1; Max-Age=0", "s=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT"]
)
def test_deleting_headers_are_recognised(header):
    from labserver.tools.cookies import inspect

    assert any("deletes the cookie" in w for w in inspect(header).warnings)


def test_the_host_prefix_problem_names_the_broken_rule():
    from labserver.tools.cookies import inspect

    report = inspect("__Host-s=1; Path=/; SameSite=Lax")
    assert any("lacks Secure" in p for p in report.problems)


def test_timestamps_read_http_dates_and_say_when_they_guess_milliseconds():
    from labserver.tools.timestamps import convert

    assert convert("Wed, 21 Oct 2015 07:28:00 GMT").seconds == 1445412480
    assert "12 to 15 digits" in convert("170000000000").unit


@pytest.mark.parametrize(
    "seconds, text",
    [(3725, "1 h 2 min 5 s"), (3 * 86400 + 7200, "3 days 2 h"), (100_000_000, "3.2 years")],
)
def test_long_durations_read_as_days_and_years(seconds, text):
    from labserver.timefmt import duration

    assert duration(seconds) == text


# --- issue 13: the inspector parses Set-Cookie as a browser does (RFC 6265 section 5.2) -----


@pytest.mark.parametrize(
    "header, name, value",
    [
        ('prefs={"a":1}; Path=/', "prefs", '{"a":1}'),
        ("a=b c; Path=/", "a", "b c"),
        ("x=1; Path=/; foo", "x", "1"),
        ("  s = 1 ;Path=/", "s", "1"),  # white space around name and value is trimmed
        ("s=a=b; Path=/", "s", "a=b"),  # the name ends at the first '='
        ('s="quoted"; Path=/', "s", '"quoted"'),  # quotes are part of the value
    ],
)
def test_the_inspector_reads_every_cookie_a_browser_stores(header, name, value):
    report = inspect(header)
    assert not report.error, report.text()
    assert (report.name, report.value) == (name, value)


@pytest.mark.parametrize("header", ['prefs={"a":1}; Path=/', "a=b c; Path=/"])
def test_a_value_the_server_cannot_read_back_is_called_out(header):
    report = inspect(header)
    assert any("section 4.1.1" in w and "werkzeug" in w for w in report.warnings), report.warnings


def test_an_unknown_attribute_is_ignored_as_a_browser_does():
    report = inspect("x=1; Path=/; foo; SameSite=Lax")
    assert any("'foo'" in w and "ignore" in w for w in report.warnings), report.warnings
    two = inspect("a=1; b=2; SameSite=Lax")
    assert two.name == "a"
    assert any("'b'" in w and "one cookie" in w for w in two.warnings), two.warnings


def test_a_well_formed_value_gets_no_grammar_warning():
    assert inspect("s=abc-_.~!#$%&'()*+/:<>?@[]^`{|}; Path=/; SameSite=Lax").warnings == []


@pytest.mark.parametrize("header", ["Cookie: a=1; b=2", "cookie:session=abc"])
def test_a_request_cookie_header_is_named_as_such(header):
    report = inspect(header)
    assert report.error and "request header" in report.error and "Set-Cookie" in report.error


@pytest.mark.parametrize(
    "header, explained",
    [
        ("abc; Path=/", "no '='"),
        ("=abc; Path=/", "empty name"),
        ("a=1\x00; Path=/", "control character"),
    ],
)
def test_headers_browsers_ignore_entirely_say_why(header, explained):
    report = inspect(header)
    assert report.error and explained in report.error, report.error


@pytest.mark.parametrize(
    "url, api_url",
    [
        ("banana", None),
        (None, "app.example.test/api/me"),
        ("ftp://a.test/", None),
        ("https://", None),
        ("/login", None),
    ],
)
def test_set_by_and_sent_to_must_be_urls(url, api_url):
    report = inspect("s=1; Path=/; SameSite=Lax", url=url, api_url=api_url)
    assert any("not a URL this inspector can read" in p for p in report.problems), report.problems


def test_an_unreadable_expires_leaves_a_session_cookie():
    report = inspect("s=1; Path=/; SameSite=Lax; Expires=banana")
    assert not any("banana" in a for a in report.attributes), report.attributes
    assert any("Expires=banana" in w and "session cookie" in w for w in report.warnings), (
        report.warnings
    )


def test_a_readable_expires_is_shown_as_a_date():
    report = inspect("s=1; Path=/; SameSite=Lax; Expires=Wednesday, 21-Oct-37 07:28:00 GMT")
    assert any("kept until 2037-10-21T07:28:00Z" in a for a in report.attributes), report.attributes


@pytest.mark.parametrize(
    "header, warning",
    [
        ("s=1; Max-Age=abc; SameSite=Lax", "Max-Age=abc"),
        ("s=1; Path=app; SameSite=Lax", "Path=app"),
        ("s=1; Domain=; SameSite=Lax", "Domain="),
    ],
)
def test_attribute_values_browsers_ignore_are_named(header, warning):
    report = inspect(header)
    assert any(warning in w and "ignore" in w for w in report.warnings), report.warnings


def test_the_last_attribute_of_a_name_wins():
    report = inspect("s=1; Path=/app; Path=/; SameSite=Lax", api_url="http://h/api/me")
    assert report.ok, report.problems


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Wed, 21 Oct 2015 07:28:00 GMT", (2015, 10, 21, 7, 28, 0)),  # RFC 1123
        ("Wednesday, 21-Oct-15 07:28:00 GMT", (2015, 10, 21, 7, 28, 0)),  # RFC 850, 2-digit year
        ("Wed Oct 21 07:28:00 2015", (2015, 10, 21, 7, 28, 0)),  # asctime
        ("21 oct 1999 7:2:3", (1999, 10, 21, 7, 2, 3)),  # any order, short fields
        ("Thu, 01 Jan 70 00:00:00 GMT", (1970, 1, 1, 0, 0, 0)),
        ("banana", None),
        ("", None),
        ("Wed, 30 Feb 2015 07:28:00 GMT", None),
        ("Wed, 21 Oct 1600 07:28:00 GMT", None),
        ("Wed, 21 Oct 2015 24:00:00 GMT", None),
        ("Wed, 21 Oct 2015 GMT", None),
    ],
)
def test_cookie_dates_are_read_by_the_rfc_6265_algorithm(text, expected):
    from labserver.tools.cookies import cookie_date

    found = cookie_date(text)
    assert (found.timetuple()[:6] if found else None) == expected


def test_cookies_are_per_host_not_per_port():
    report = inspect(
        "bff=abc; HttpOnly; Path=/; SameSite=Lax",
        url="http://127.0.0.1:5000/bff/login",
        api_url="http://127.0.0.1:8888/lab",
    )
    assert report.ok, report.problems
    assert any("per host, not per port" in w and "127.0.0.1:8888" in w for w in report.warnings), (
        report.warnings
    )


# --- issue 13: the decoder explains what it cannot read, and refuses odd NumericDates -------


@pytest.mark.parametrize(
    "token, part, reason",
    [
        ("a.b.c", "header", "1 more than a multiple of 4"),
        ("eyJhbGciOiJIUzI1NiJ9.@@@.c", "payload", "'@'"),
        ("aGVsbG8.eyJzdWIiOiJhIn0.c", "header", "'hello'"),
        ("WzFd.eyJzdWIiOiJhIn0.c", "header", "a JSON object"),
        ("_w.eyJzdWIiOiJhIn0.c", "header", "UTF-8"),
    ],
)
def test_the_decoder_explains_a_token_it_cannot_read(token, part, reason):
    report = decode(token, now=NOW)
    assert report.error.startswith("PyJWT cannot read it"), report.error
    assert f"the {part} (part" in report.error and reason in report.error, report.error
    assert "eyJ" in report.error, "the report says what a JWT looks like"


def _hs256_raw(claims_json: str, secret: bytes = b"k" * 32) -> str:
    """A token signed without PyJWT, so that its payload can hold what PyJWT would not write."""
    import base64
    import hashlib
    import hmac

    part = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    header = json.dumps({"alg": "HS256", "typ": "JWT"}).encode()
    signing_input = f"{part(header)}.{part(claims_json.encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        -1e30,
        1e30,
        "1800000000",
        None,
        True,
        [1],
        10**400,
    ],
    ids=lambda v: repr(v)[:12],
)
def test_the_decoder_refuses_odd_numericdates(name, value):
    claims = {"sub": "a", "iat": NOW - 10, "exp": NOW + 300, name: value}
    token = _hs256_raw(json.dumps(claims))  # json.dumps writes NaN and Infinity by default
    report = decode(token, now=NOW, key=b"k" * 32)
    assert not report.error, report.error
    flagged = f"{name} is not a valid NumericDate"
    assert any(w.startswith(flagged) for w in report.warnings), report.warnings
    assert not any(t.startswith(name) for t in report.times), report.times
    assert not report.verified and flagged in report.verification, report.verification


def test_a_nan_exp_is_explained_as_a_token_that_never_expires():
    report = decode(_hs256_raw(json.dumps({"sub": "a", "exp": float("nan")})), now=NOW)
    about_exp = [w for w in report.warnings if w.startswith("exp")]
    assert any("never" in w and "expire" in w for w in about_exp), report.warnings


def test_a_good_token_still_verifies_with_the_numericdate_rule():
    claims = {"sub": "a", "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 300.5}
    report = decode(_hs256_raw(json.dumps(claims)), now=NOW, key=b"k" * 32)
    assert report.verified, report.verification


def test_the_cookie_widget_flags_what_is_not_a_url():
    widget = CookieWidget("s=1; Path=/; SameSite=Lax")
    widget.url.value = "banana"
    assert "not a URL this inspector can read" in widget.output.value
    widget.input.value = "Cookie: s=1"
    assert "request header" in widget.output.value


# --- issue 15: where Chromium disagreed with the inspector ---------------------------------


@pytest.mark.parametrize(
    "url, ok",
    [
        ("http://127.0.0.1:8000/login", True),  # Domain is the IP address that sets it
        ("https://[::1]:8000/login", False),  # another IP address: no match at all
        ("http://localhost:8000/login", False),  # a name, not an IP address
        (None, False),  # the inspector cannot know the host: a Domain is a problem
    ],
)
def test_a_host_prefix_cookie_may_name_the_ip_address_that_sets_it(url, ok):
    # Chromium stores __Host-s=1; Domain=127.0.0.1 set by http://127.0.0.1 (measured in
    # tests/browser/test_scoping.py): an IP address has no subdomains, so the cookie is
    # host-only all the same (RFC 6265bis, httpwg/http-extensions#3513).
    header = "__Host-s=1; Path=/; Secure; Domain=127.0.0.1; SameSite=Lax"
    report = inspect(header, url=url)
    assert report.ok == ok, report.problems
    if not ok and url != "https://[::1]:8000/login":
        assert any("lacks no Domain" in p for p in report.problems), report.problems


def test_a_domain_equal_to_the_ip_address_that_sets_it_is_explained_as_host_only():
    report = inspect("s=1; Path=/; Domain=127.0.0.1; SameSite=Lax", url="http://127.0.0.1/")
    assert any("host-only" in a and "127.0.0.1" in a for a in report.attributes), report.attributes
    assert not any("and all its subdomains" in a for a in report.attributes), report.attributes
