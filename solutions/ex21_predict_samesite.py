"""Exercise 21 · Predict which cookies another site's request carries, before Chromium shows you.

A page of another *site* (the attacker's ``http://localhost:Q``; the lab is ``http://127.0.0.1:P``)
can make your browser send four kinds of request to the lab: a link you follow (a top-level GET),
a form it submits (a top-level POST), an ``<iframe>`` of a lab page, and a script's ``fetch`` with
``credentials: "include"``. Which of the lab's cookies go with each is decided by the cookie's
``SameSite`` attribute (RFC 6265bis §5.6.7), by whether the browser stored the cookie at all, and
by one setting of the browser: whether it allows third-party cookies.

Write the rule down as a function *before* you look at the chapter's table: then the notebook
compares your predictions with what Chromium did, cell by cell, and marks where you disagree.

Check your work in the notebook with ``check("ex21")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex21_predict_samesite.py --impl exercises``.
"""

#: The kinds of request, as ``request["kind"]`` names them.
KINDS = ("top-level GET", "top-level POST", "iframe", "fetch")
#: The kinds that are top-level navigations: the page becomes the lab's, a first-party context.
TOP_LEVEL = ("top-level GET", "top-level POST")
#: Chromium's "Lax-allowing-unsafe" window, in seconds (RFC 6265bis §5.6.7.2 suggests 2 minutes).
LAX_ALLOWING_UNSAFE_SECONDS = 120


def cookie_is_sent(cookie, request):
    """True if Chromium sends ``cookie`` with ``request``, False if it does not.

    ``cookie`` is what the lab's ``Set-Cookie`` asked for, and how old the cookie is now::

        {"samesite": "Strict" | "Lax" | "None" | None,   # None: no SameSite attribute
         "secure": True | False,
         "age_seconds": 30.0}

    ``request`` is where it comes from, what kind it is (one of ``KINDS``), and the browser's
    setting (Chromium's default profile, and any private window, blocks third-party cookies)::

        {"site": "same-site" | "cross-site",
         "kind": "top-level GET" | "top-level POST" | "iframe" | "fetch",
         "third_party_cookies": True | False}

    What the attributes mean, as RFC 6265bis and Chromium 156 apply them:

    * a request from the cookie's own site carries every cookie the browser stored;
    * ``SameSite=Strict``: never sent with a request another site started;
    * ``SameSite=Lax``: sent with another site's request only if it is a top-level navigation
      (the address bar changes) with a *safe* method, one that changes nothing on the server;
    * ``SameSite=None``: sent with every request, but only a ``Secure`` cookie may say so; a
      request inside another site's page (a third-party context) carries cookies only where the
      browser allows third-party cookies;
    * no ``SameSite``: treated as ``Lax`` ("Lax by default"), except that for its first
      ``LAX_ALLOWING_UNSAFE_SECONDS`` Chromium also sends it with another site's top-level POST.
    """
    samesite = cookie.get("samesite")
    if samesite == "None" and not cookie.get("secure"):
        return False  # refused when set: the browser never stored it
    if request["site"] == "same-site":
        return True
    kind = request["kind"]
    if samesite == "None":
        # An iframe or a fetch is the lab inside another site's page: a third-party context.
        return kind in TOP_LEVEL or request["third_party_cookies"]
    if samesite == "Strict":
        return False
    if kind == "top-level GET":
        return True  # Lax, and Lax by default: a top-level navigation with a safe method
    if samesite is None and kind == "top-level POST":
        return cookie["age_seconds"] < LAX_ALLOWING_UNSAFE_SECONDS  # Lax-allowing-unsafe
    return False
