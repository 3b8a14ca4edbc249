"""Exercise 10 · The BFF proxy's CSRF check.

``SameSite=Lax`` keeps the BFF's cookie off requests that pages of other *sites* make (except
top-level GET links), but not off requests from other origins of the same site: another port on
the same host, a sibling subdomain. So the BFF must still tell its own page's calls from forged
ones. The OAuth guidance for browser-based apps suggests a custom header: the page's script
always adds ``X-CSRF: 1``; a page of another origin cannot add a custom header to a cross-origin
request without a CORS "preflight" that the BFF never approves, and an HTML form cannot add
headers at all. Browsers also say where a request comes from: ``Origin`` (on cross-origin
requests and on POSTs; often absent on same-origin GETs) and ``Sec-Fetch-Site``; when present,
they must name the BFF itself.

``headers`` is a mapping whose lookups ignore case, like Flask's ``request.headers``; the tests
pass werkzeug's ``Headers``.

Check your work in the notebook with ``check("ex10")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex10_proxy_csrf.py --impl exercises``.
"""


def csrf_problem(headers, own_origin):
    """Return None when the request may use the session, or a short reason why not:

    * the ``X-CSRF`` header must be exactly ``"1"``;
    * an ``Origin`` header, if there is one, must equal ``own_origin`` (e.g.
      ``"http://127.0.0.1:8000"``);
    * a ``Sec-Fetch-Site`` header, if there is one, must be ``"same-origin"`` or ``"none"``
      (typed by the user); ``"same-site"`` and ``"cross-site"`` are refused.
    """
    raise NotImplementedError(
        "headers.get('X-CSRF') is the header's value or None; check it, then Origin, then "
        "Sec-Fetch-Site"
    )
