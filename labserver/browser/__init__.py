"""Chapters 07 and 08's real browser: headless Chromium, driven from notebook cells and tests alike.

* :mod:`.driver`   finds Chromium, owns the one Playwright thread of the process
* :mod:`.control`  ``lab.browser()``: a browser profile, its tabs, cookies and storage
* :mod:`.install`  ``make``'s step: the system's Chromium, or Playwright's inside ``.venv``

The experiments, each a function of the lab (and browser profiles) returning a result whose text
is what the notebook prints and whose data the tests check:

* :mod:`.xss`      an injected script on a page with its token in localStorage, and on the BFF's
* :mod:`.samesite` which cookies each cross-site request carries, as installed and as the RFC allows
* :mod:`.cors`     the custom-header CSRF defence: a preflight the lab never grants
* :mod:`.scoping`  Secure and the prefixes on and off loopback, Domain, Path, the size limit, and
  cookies per host rather than per port
* :mod:`.casebook` chapter 06's cookie casebook replayed in Chromium, next to the inspector
* :mod:`.logout`   deleting the cookie, Clear-Site-Data, and deleting the session: what is left
* :mod:`.predict`  exercise 21's SameSite predictions beside the table Chromium produced
* :mod:`.referer`  chapter 9: a token in a page's URL reaches another site in ``Referer``, by
  the page's Referrer-Policy
"""
