"""No credential in a URL: the lab refuses a token in the query, and its pages keep URLs home.

A URL is not a secret: servers and proxies log it, browsers keep it in their history, and a page
sends it to every site it loads something from, in the ``Referer`` header, as far as its
``Referrer-Policy`` allows. So (RFC 6750 section 2.3: the query "SHOULD NOT" be used; RFC 9700
section 4.3.2 and RFC 6819 section 4.6.7):

* :func:`refuse_tokens_in_query`: a request whose query carries one of
  :data:`REFUSED_PARAMETERS` is refused with a 400 that says why, before any view runs, so that
  no client of the lab ever comes to rely on it;
* :func:`strict_referrer_policy`: the lab's HTML pages send ``Referrer-Policy`` (the BFF's own
  ``same-origin``, or :data:`REFERRER_POLICY`), so that another site never sees their URL;
* the request log abbreviates the values of :data:`REDACTED_PARAMETERS`
  (:func:`labserver.requestlog.redact_query`).

Chapter 9's ``/vulnerable/url-token/`` views opt out with :func:`takes_token_in_query`: taking
the token from the URL is their one mistake.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, request

from .http_errors import InvalidRequest

#: Query parameters that are refused: credentials that RFC 6749 and RFC 6750 put in a header or
#: a form body (RFC 6749 section 2.3.1: a client secret "MUST NOT be included in the request
#: URI"). ``code`` is not here: the authorization code comes back in a redirect's query by design.
REFUSED_PARAMETERS = ("access_token", "refresh_token", "id_token", "client_secret")
#: What a page of the lab sends when it says nothing else: another site gets no Referer at all
#: (the BFF's pages say the same, and chapter 05 explains why not ``no-referrer``).
REFERRER_POLICY = "same-origin"

_OPT_OUT = "_lab_takes_token_in_query"


def takes_token_in_query(view: Callable) -> Callable:
    """Mark a (deliberately vulnerable) view as taking a token from the URL: the refusal and the
    page policy of this module leave it alone."""
    setattr(view, _OPT_OUT, True)
    return view


def _opted_out() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, _OPT_OUT, False)


def refuse_tokens_in_query() -> None:
    """``before_request``: a 400 naming the parameter when the query carries a credential."""
    found = [name for name in REFUSED_PARAMETERS if name in request.args]
    if found and not _opted_out():
        raise InvalidRequest(
            f"{found[0]} in the URL is refused: URLs end up in logs and Referer headers (RFC "
            "6750 section 2.3, RFC 9700 section 4.3.2); send a token in the Authorization "
            "header, other credentials in the body"
        )


def strict_referrer_policy(response):
    """``after_request``: an HTML page that sets no ``Referrer-Policy`` gets the lab's."""
    if response.mimetype == "text/html" and "Referrer-Policy" not in response.headers:
        if not _opted_out():
            response.headers["Referrer-Policy"] = REFERRER_POLICY
    return response


def init_app(app) -> None:
    """Install both rules on ``app`` (every app of the lab but the attacker's site)."""
    app.before_request(refuse_tokens_in_query)
    app.after_request(strict_referrer_policy)
