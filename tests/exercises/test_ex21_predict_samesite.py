"""Checks for exercise 21: ``cookie_is_sent``, the SameSite rule as Chromium 156 applies it.

The cases are the chapter's five cookies (as ``labserver/chapters/browser_pages.py`` sets them)
and four kinds of request; the last checks hold the whole table Chromium produced in chapter 08,
with third-party cookies blocked (its default) and allowed.
"""

import pytest

KINDS = ("top-level GET", "top-level POST", "iframe", "fetch")
TOP_LEVEL, THIRD_PARTY = KINDS[:2], KINDS[2:]

#: The chapter's cookies, fresh (set a moment ago).
COOKIES = {
    "strict": {"samesite": "Strict", "secure": False},
    "lax": {"samesite": "Lax", "secure": False},
    "none_secure": {"samesite": "None", "secure": True},
    "none_insecure": {"samesite": "None", "secure": False},
    "unset": {"samesite": None, "secure": False},
}

#: What Chromium 156 sent with the attacker's cross-site requests, measured in chapter 08 on
#: cookies a few seconds old: the cookies that arrived, by kind of request.
CHROMIUM_BLOCKING_THIRD_PARTY = {
    "top-level GET": {"lax", "none_secure", "unset"},
    "top-level POST": {"none_secure", "unset"},
    "iframe": set(),
    "fetch": set(),
}
CHROMIUM_ALLOWING_THIRD_PARTY = {
    **CHROMIUM_BLOCKING_THIRD_PARTY,
    "iframe": {"none_secure"},
    "fetch": {"none_secure"},
}


def cookie(name, age_seconds=2.0, **changes):
    return {**COOKIES[name], "age_seconds": age_seconds, **changes}


def request(kind, site="cross-site", third_party_cookies=False):
    return {"site": site, "kind": kind, "third_party_cookies": third_party_cookies}


def sent(impl, name, kind, *, age_seconds=2.0, **options):
    """What cookie_is_sent answers for the chapter's cookie ``name``."""
    return impl.cookie_is_sent(cookie(name, age_seconds), request(kind, **options))


@pytest.mark.parametrize("third_party_cookies", [False, True], ids=["blocked", "allowed"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_same_site_request_carries_every_stored_cookie(impl, kind, third_party_cookies):
    """A request from the lab's own site carries Strict, Lax, None+Secure and no-SameSite."""
    for name in ("strict", "lax", "none_secure", "unset"):
        answer = sent(impl, name, kind, site="same-site", third_party_cookies=third_party_cookies)
        assert answer is True, (
            "SameSite only ever holds back a cookie from a request another site started: a "
            "same-site request carries every cookie the browser stored, Strict included"
        )


def test_an_old_cookie_without_samesite_still_goes_with_a_same_site_post(impl):
    """The 2-minute limit is for cross-site POSTs only: a same-site POST carries the cookie."""
    assert sent(impl, "unset", "top-level POST", site="same-site", age_seconds=3600) is True, (
        "the Lax-allowing-unsafe window limits what another site's POST carries; from the "
        "cookie's own site, every request carries it, at any age"
    )


@pytest.mark.parametrize("site", ["same-site", "cross-site"])
@pytest.mark.parametrize("kind", KINDS)
def test_samesite_none_without_secure_is_never_sent(impl, kind, site):
    """SameSite=None without Secure is refused when set, so no request carries it."""
    assert sent(impl, "none_insecure", kind, site=site, third_party_cookies=True) is False, (
        "a SameSite=None cookie must also be Secure: without it the browser refuses to store "
        "it (RFC 6265bis's storage model; Chromium since version 80), and what is not stored "
        "is never sent, not even to its own site"
    )


@pytest.mark.parametrize("third_party_cookies", [False, True], ids=["blocked", "allowed"])
@pytest.mark.parametrize("kind", KINDS)
def test_strict_is_never_sent_cross_site(impl, kind, third_party_cookies):
    """SameSite=Strict goes with no request another site started, not even a link."""
    assert sent(impl, "strict", kind, third_party_cookies=third_party_cookies) is False, (
        "Strict means only requests from the cookie's own site carry it: following another "
        "site's link to the lab arrives without it (that is Lax's one difference from Strict)"
    )


def test_lax_is_sent_on_a_cross_site_top_level_get(impl):
    """SameSite=Lax goes with another site's link: a top-level navigation, safe method."""
    assert sent(impl, "lax", "top-level GET") is True, (
        "Lax lets a cookie travel with a top-level navigation whose method is safe (GET): "
        "someone following a link to the lab arrives logged in"
    )


@pytest.mark.parametrize("age_seconds", [0.0, 2.0, 60.0])
def test_lax_is_not_sent_on_a_cross_site_post_even_when_new(impl, age_seconds):
    """SameSite=Lax stays home on another site's form POST, however new the cookie is."""
    assert sent(impl, "lax", "top-level POST", age_seconds=age_seconds) is False, (
        "POST is not a safe method, so Lax does not travel with it; the 2-minute grace is only "
        "for cookies that set no SameSite at all, never for an explicit Lax"
    )


@pytest.mark.parametrize("third_party_cookies", [False, True], ids=["blocked", "allowed"])
@pytest.mark.parametrize("kind", THIRD_PARTY)
def test_lax_is_not_sent_to_an_iframe_or_fetch(impl, kind, third_party_cookies):
    """SameSite=Lax stays home when another site's page frames or fetches the lab."""
    assert sent(impl, "lax", kind, third_party_cookies=third_party_cookies) is False, (
        "an iframe or a fetch is not a top-level navigation (the address bar still shows the "
        "other site), whatever its method: Lax does not travel with it"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_none_secure_is_sent_everywhere_when_third_party_cookies_are_allowed(impl, kind):
    """SameSite=None; Secure goes with every cross-site request the RFC allows."""
    assert sent(impl, "none_secure", kind, third_party_cookies=True) is True, (
        "SameSite=None (with Secure) opts out of SameSite: with third-party cookies allowed, "
        "every kind of cross-site request carries it"
    )


@pytest.mark.parametrize("kind", TOP_LEVEL)
def test_none_secure_is_sent_on_top_level_navigations_when_third_party_cookies_are_blocked(
    impl, kind
):
    """Blocking third-party cookies leaves links and form POSTs alone: they go to the lab."""
    assert sent(impl, "none_secure", kind, third_party_cookies=False) is True, (
        "a top-level navigation makes the lab the page's site: its cookies are first-party "
        "there, so blocking third-party cookies does not hold them back"
    )


@pytest.mark.parametrize("kind", THIRD_PARTY)
def test_none_secure_is_not_sent_to_an_iframe_or_fetch_when_third_party_cookies_are_blocked(
    impl, kind
):
    """With third-party cookies blocked (Chromium's default), an iframe or fetch carries none."""
    assert sent(impl, "none_secure", kind, third_party_cookies=False) is False, (
        "inside another site's page the lab's cookies are third-party: a browser that blocks "
        "third-party cookies sends none there, SameSite=None or not"
    )


@pytest.mark.parametrize("third_party_cookies", [False, True], ids=["blocked", "allowed"])
@pytest.mark.parametrize("kind", THIRD_PARTY)
def test_a_cookie_without_samesite_is_lax_by_default(impl, kind, third_party_cookies):
    """A cookie without SameSite is not sent to another site's iframe or fetch: Lax by default."""
    assert sent(impl, "unset", kind, third_party_cookies=third_party_cookies) is False, (
        "no SameSite attribute means Lax today (RFC 6265bis 'Lax by default'), not None as "
        "browsers before 2020 read it: an iframe or fetch from another site leaves it home"
    )


def test_a_cookie_without_samesite_goes_with_a_cross_site_link(impl):
    """Like Lax, a cookie without SameSite goes with another site's link, at any age."""
    assert sent(impl, "unset", "top-level GET", age_seconds=3600) is True, (
        "Lax by default still travels with a top-level navigation by GET, however old the "
        "cookie is: the 2-minute limit is about POSTs"
    )


@pytest.mark.parametrize("age_seconds", [0.0, 60.0, 119.0])
def test_a_new_cookie_without_samesite_is_sent_on_a_cross_site_post(impl, age_seconds):
    """A cookie without SameSite, under 2 minutes old, goes with another site's form POST."""
    assert sent(impl, "unset", "top-level POST", age_seconds=age_seconds) is True, (
        "Chromium's 'Lax-allowing-unsafe' (RFC 6265bis §5.6.7.2): for its first 2 minutes a "
        "cookie without SameSite also travels with a cross-site top-level POST, so that "
        "sign-in flows that POST back (SAML, OpenID form_post) kept working"
    )


@pytest.mark.parametrize("age_seconds", [121.0, 125.0, 3600.0])
def test_an_older_cookie_without_samesite_is_not_sent_on_a_cross_site_post(impl, age_seconds):
    """Past 2 minutes, a cookie without SameSite stays home on another site's POST."""
    assert sent(impl, "unset", "top-level POST", age_seconds=age_seconds) is False, (
        "the Lax-allowing-unsafe grace lasts LAX_ALLOWING_UNSAFE_SECONDS from the cookie's "
        "creation; after that, Lax by default is plain Lax, and POST is not a safe method"
    )


def test_the_answer_is_true_or_false(impl):
    """Every answer is a bool: True (sent) or False (not sent), never None or a string."""
    for name in COOKIES:
        for kind in KINDS:
            for site in ("same-site", "cross-site"):
                answer = sent(impl, name, kind, site=site)
                assert answer is True or answer is False, (
                    f"return True or False, not {answer!r}: the notebook compares your answers "
                    "with what Chromium did, and None is neither"
                )


@pytest.mark.parametrize(
    ("third_party_cookies", "observed"),
    [
        pytest.param(False, CHROMIUM_BLOCKING_THIRD_PARTY, id="blocked"),
        pytest.param(True, CHROMIUM_ALLOWING_THIRD_PARTY, id="allowed"),
    ],
)
def test_the_whole_table_is_what_chromium_did(impl, third_party_cookies, observed):
    """All 20 cells of chapter 08's table: 4 cross-site requests × 5 cookies, as measured."""
    for kind in KINDS:
        predicted = {
            name
            for name in COOKIES
            if sent(impl, name, kind, third_party_cookies=third_party_cookies)
        }
        assert predicted == observed[kind], (
            f"on a cross-site {kind}, Chromium 156 sent {sorted(observed[kind]) or 'nothing'}: "
            "the checks above name the rule each cookie follows"
        )
