"""Chapter 07's real browser: headless Chromium, driven from notebook cells and tests alike.

* :mod:`.driver`   finds Chromium, owns the one Playwright thread of the process
* :mod:`.control`  ``lab.browser()``: a browser profile, its tabs, cookies and storage
* :mod:`.predict`  exercise 21's SameSite predictions beside the table Chromium produced
"""
