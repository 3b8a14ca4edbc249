"""The public client's side of the authorization code flow: a native ("mobile") app.

RFC 8252 (OAuth 2.0 for Native Apps): the app opens the provider's page in the system browser
and listens on a loopback port for the redirect that brings the code back (section 7.3). It
has no secret (anyone can unpack an app), so it proves that the code is its own with PKCE
(RFC 7636): it keeps a random ``code_verifier`` and sends only its SHA-256, the
``code_challenge``, in the authorization request. Whoever intercepts the code lacks the
verifier. It also checks ``state`` (that this redirect answers its own request) and ``iss``
(RFC 9207: that the code comes from the provider it asked).

Hop by hop, each step is one method, so a notebook can show what crosses the wire:

    app = NativeApp(lab.idp)
    request = app.authorization_request()          # verifier, challenge, state, nonce
    callback = app.sign_in(request, "alice", "wonderland")   # the browser's part
    tokens = app.exchange(request, callback)       # code + verifier -> tokens

The "browser" is a plain HTTP client here (chapter 05's real browser does it for the BFF).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Flask, request

from ..requestlog import RequestLog
from ..server import ServerThread
from . import dpop

CLIENT_ID = "mobile-app"
DEFAULT_SCOPE = "openid profile orders:read orders:write"


class FlowError(Exception):
    """The client refuses to go on: the redirect is not the answer to its request (``state``,
    ``iss``), the provider said no (``error``), or no code came back."""


def new_code_verifier() -> str:
    """A PKCE ``code_verifier``: 43 characters from 256 random bits (RFC 7636 section 4.1)."""
    return secrets.token_urlsafe(32)


def s256(verifier: str) -> str:
    """The ``S256`` ``code_challenge`` of ``verifier`` (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class AuthorizationRequest:
    """What the app sent, and what it keeps to check the answer."""

    url: str
    redirect_uri: str
    state: str
    nonce: str
    code_verifier: str = field(repr=False)
    code_challenge: str = ""
    scope: str = DEFAULT_SCOPE


class LoopbackRedirect:
    """The app's loopback listener: ``http://127.0.0.1:<port>/callback``, recording what the
    redirect brought (its requests appear in :attr:`request_log` as service ``mobile-app``)."""

    def __init__(self, clock) -> None:
        self.received: list[dict[str, str]] = []
        self._arrived = threading.Event()
        app = Flask("loopback-redirect")

        @app.get("/callback")
        def callback():
            self.received.append(dict(request.args.items()))
            self._arrived.set()
            return "<p>Signed in. You can close this window and return to the app.</p>"

        self.request_log = RequestLog(clock.now, service="mobile-app")
        app.wsgi_app = self.request_log.middleware(app.wsgi_app)
        self._server = ServerThread(app)
        self.redirect_uri = f"{self._server.url}/callback"

    def wait(self, timeout: float = 10.0) -> dict[str, str]:
        """The query parameters of the redirect (waits for it)."""
        if not self._arrived.wait(timeout):
            raise FlowError("no redirect reached the app's loopback port")
        return self.received[-1]

    def expect(self) -> None:
        """Forget any earlier redirect: the next :meth:`wait` waits for a new one."""
        self._arrived.clear()

    def stop(self) -> None:
        self._server.stop()

    close = stop  # so that the lab's stop() closes it like its HTTP clients


class NativeApp:
    """The ``mobile-app`` client of the identity provider ``idp`` (a Lab handle)."""

    def __init__(self, idp, client_id: str = CLIENT_ID) -> None:
        self.idp = idp
        self.client_id = client_id
        self.http = idp.client(client_id)  # the app's own HTTP calls (token endpoint, APIs)
        self.browser = idp.client("browser")  # the system browser the user signs in with
        self.metadata = self.http.get("/.well-known/openid-configuration").json()
        self.listener = LoopbackRedirect(idp.clock)
        idp._clients.append(self.listener)  # stopped with the provider

    def authorization_request(
        self,
        scope: str = DEFAULT_SCOPE,
        *,
        code_verifier: str | None = None,
        code_challenge: str | None = None,
        extra: dict | None = None,
    ) -> AuthorizationRequest:
        """A new authorization request: fresh verifier, challenge, ``state`` and ``nonce``."""
        verifier = code_verifier or new_code_verifier()
        challenge = code_challenge if code_challenge is not None else s256(verifier)
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.listener.redirect_uri,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **(extra or {}),
        }
        params = {k: v for k, v in params.items() if v is not None}
        url = self.metadata["authorization_endpoint"] + "?" + urlencode(params)
        return AuthorizationRequest(
            url, self.listener.redirect_uri, state, nonce, verifier, challenge, scope
        )

    def sign_in(
        self, auth: AuthorizationRequest, username: str, password: str, decision: str = "allow"
    ) -> dict[str, str]:
        """The browser's part: open the provider's page, submit the login form, follow the
        redirect to the app's loopback port. Returns what the redirect brought."""
        self.listener.expect()
        page = self.browser.get(auth.url, allow_redirects=False)
        if page.status_code != 200:
            raise FlowError(f"the provider refused the request: {page.status_code} {page.text}")
        answer = self.browser.post(
            auth.url,
            data={"username": username, "password": password, "decision": decision},
            allow_redirects=False,
        )
        if answer.status_code != 302:
            raise FlowError(f"no redirect after signing in: {answer.status_code} {answer.text}")
        location = answer.headers["Location"]
        self.browser.get(location, allow_redirects=False)  # reaches the loopback listener
        return self.listener.wait()

    def code_from(self, auth: AuthorizationRequest, callback: dict[str, str]) -> str:
        """The code, once the redirect is shown to answer ``auth``: its ``state`` and ``iss``."""
        if callback.get("state") != auth.state:
            raise FlowError(
                "state mismatch: this redirect does not answer the app's own request "
                "(a forged or replayed redirect: RFC 6749 section 10.12)"
            )
        if callback.get("iss") != self.metadata["issuer"]:
            raise FlowError(
                f"iss is {callback.get('iss')!r}, not the provider asked (a mix-up: RFC 9207)"
            )
        if "error" in callback:
            raise FlowError(
                f"the provider said {callback['error']}: {callback.get('error_description', '')}"
            )
        if not callback.get("code"):
            raise FlowError("the redirect carries no code")
        return callback["code"]

    def exchange(
        self,
        auth: AuthorizationRequest,
        callback: dict[str, str],
        *,
        dpop_key=None,
        code_verifier: str | None = None,
    ) -> dict:
        """Redeem the code at the token endpoint with the verifier (and a DPoP proof when
        ``dpop_key`` is given); the token response as a dict (errors included)."""
        form = {
            "grant_type": "authorization_code",
            "code": self.code_from(auth, callback),
            "redirect_uri": auth.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": code_verifier if code_verifier is not None else auth.code_verifier,
        }
        return self.token_request({k: v for k, v in form.items() if v}, dpop_key=dpop_key)

    def refresh(self, refresh_token: str, *, scope: str | None = None, dpop_key=None) -> dict:
        """Trade a refresh token for a new pair (rotation)."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.client_id,
        }
        if scope:
            form["scope"] = scope
        return self.token_request(form, dpop_key=dpop_key)

    def token_request(self, form: dict, *, dpop_key=None) -> dict:
        """POST ``form`` to the token endpoint; the JSON answer plus its ``status``."""
        url = self.metadata["token_endpoint"]
        headers = {}
        if dpop_key is not None:
            headers["DPoP"] = dpop.make_proof(dpop_key, "POST", url, iat=self.idp.clock.now())
        answer = self.http.post(url, data=form, headers=headers)
        return {"status": answer.status_code, **answer.json()}

    def login(self, username: str, password: str, scope: str = DEFAULT_SCOPE, **kw) -> dict:
        """The whole flow in one call: request, sign in, exchange."""
        auth = self.authorization_request(scope)
        return self.exchange(auth, self.sign_in(auth, username, password), **kw)


def redirect_params(location: str) -> dict[str, str]:
    """The query parameters of a redirect's ``Location``."""
    return dict(parse_qsl(urlsplit(location).query))
