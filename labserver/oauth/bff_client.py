"""The BFF's side of the authorization code flow: a confidential client (chapter 05).

The BFF is a server, so unlike the native app it can keep a secret: it authenticates to the token
endpoint with ``client_secret_basic``. It still sends PKCE (RFC 9700 section 2.1.1 asks it of
confidential clients too), and checks ``state`` and ``iss`` (RFC 9207) on the redirect, and the
ID token (signature by the provider's JWKS, ``iss``, ``aud`` = its client_id, ``nonce``,
``exp``, ``at_hash``) before it believes who signed in. Browser-based apps guidance, BFF
section 6.1.3.1: the tokens stay on the BFF; the browser gets a cookie.

Each function is one hop, so the blueprint (:mod:`labserver.chapters.bff`) reads as the flow:

    login = new_login()                                # verifier, state, nonce: kept server-side
    url = client.authorization_url(login, redirect_uri)  # the browser goes there
    tokens = client.redeem(code, login, redirect_uri)  # code + verifier + secret -> tokens
    claims = client.id_token_claims(tokens, login.nonce, now)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

import jwt
import requests

from ..remote_keys import RemoteKeySet
from .clients import CLIENT_SECRETS
from .native_app import new_code_verifier, s256

CLIENT_ID = "bff"
SCOPE = "openid profile orders:read orders:write"
ID_TOKEN_LEEWAY = 30  # seconds of clock skew an ID token's exp and iat may have
TIMEOUT = 10
#: How the BFF names itself in the provider's and the API's request logs.
USER_AGENT = "bff"


class IdentityProviderDown(Exception):
    """The provider could not be reached (or answered something that is not its JSON)."""


class LoginRefused(Exception):
    """The provider, or the BFF's own checks, refused this login; the message says which rule,
    ``error`` and ``status`` how the BFF answers the browser (RFC 6749 section 5.2's codes)."""

    def __init__(self, description: str, error: str = "invalid_request", status: int = 400):
        super().__init__(description)
        self.error, self.status = error, status


@dataclass
class PendingLogin:
    """What the BFF keeps, server-side, between sending the browser away and its return."""

    state: str
    nonce: str
    code_verifier: str = field(repr=False)

    def as_record(self) -> dict[str, str]:
        return {"state": self.state, "nonce": self.nonce, "code_verifier": self.code_verifier}


def new_login() -> PendingLogin:
    """Fresh ``state``, ``nonce`` and PKCE verifier for one sign-in."""
    return PendingLogin(secrets.token_urlsafe(16), secrets.token_urlsafe(16), new_code_verifier())


def at_hash(access_token: str) -> str:
    """OIDC Core section 3.1.3.6: the left half of the access token's SHA-256 (RS256/ES256)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


class ConfidentialClient:
    """The BFF as the ``bff`` client of the provider at ``issuer``."""

    def __init__(self, issuer: str, *, clock, verify: bool | str = True) -> None:
        self.issuer = issuer.rstrip("/")
        self.clock = clock
        self.verify = verify
        self.secret = CLIENT_SECRETS[CLIENT_ID]
        self._metadata: dict | None = None
        self.keys = RemoteKeySet(
            f"{self.issuer}/.well-known/jwks.json",
            clock=clock,
            verify=verify,
            user_agent=USER_AGENT,
        )

    def _call(self, method: str, url: str, **kwargs) -> requests.Response:
        with requests.Session() as http:
            http.trust_env = False  # loopback only; never through a proxy from the environment
            http.headers["User-Agent"] = USER_AGENT
            try:
                return http.request(method, url, timeout=TIMEOUT, verify=self.verify, **kwargs)
            except requests.RequestException as exc:
                raise IdentityProviderDown(
                    f"the identity provider at {self.issuer} cannot be reached "
                    f"({type(exc).__name__})"
                ) from None

    @property
    def metadata(self) -> dict:
        """The provider's discovery document (fetched once; its issuer must be the one asked)."""
        if self._metadata is None:
            answer = self._call("GET", f"{self.issuer}/.well-known/openid-configuration")
            try:
                metadata = answer.json() if answer.status_code == 200 else None
            except ValueError:
                metadata = None
            if not isinstance(metadata, dict) or metadata.get("issuer") != self.issuer:
                raise IdentityProviderDown(
                    f"the identity provider's metadata is unusable (HTTP {answer.status_code})"
                )
            self._metadata = metadata
        return self._metadata

    def authorization_url(self, login: PendingLogin, redirect_uri: str) -> str:
        """Where to send the browser: the authorization request with PKCE S256."""
        params = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": login.state,
            "nonce": login.nonce,
            "code_challenge": s256(login.code_verifier),
            "code_challenge_method": "S256",
        }
        return self.metadata["authorization_endpoint"] + "?" + urlencode(params)

    def check_redirect(self, args: dict[str, str], login: PendingLogin) -> str:
        """The code in the redirect, once it is shown to answer ``login`` (state, then iss)."""
        if not hmac.compare_digest(args.get("state", ""), login.state):
            raise LoginRefused(
                "state mismatch: this redirect does not answer the sign-in this browser started "
                "(a forged or replayed redirect: RFC 6749 section 10.12)"
            )
        if args.get("iss") != self.issuer:
            raise LoginRefused(
                f"iss is {args.get('iss', '')[:80]!r}, not the provider the BFF asked "
                "(a mix-up: RFC 9207)"
            )
        if "error" in args:
            error = args["error"] if args["error"].replace("_", "").isalpha() else "invalid_request"
            raise LoginRefused(
                f"the identity provider said {error[:40]}: "
                f"{args.get('error_description', '')[:200]}",
                error=error[:40],
                status=403 if error == "access_denied" else 400,
            )
        if not args.get("code"):
            raise LoginRefused("the redirect carries no code")
        return args["code"]

    def token_request(self, form: dict[str, str]) -> dict:
        """POST ``form`` to the token endpoint with client_secret_basic; the 200 answer."""
        answer = self._call(
            "POST", self.metadata["token_endpoint"], data=form, auth=(CLIENT_ID, self.secret)
        )
        try:
            body = answer.json()
        except ValueError:
            raise IdentityProviderDown(
                "the token endpoint answered something other than JSON"
            ) from None
        if answer.status_code != 200:
            raise LoginRefused(
                f"the identity provider refused: {body.get('error', answer.status_code)}: "
                f"{str(body.get('error_description', ''))[:200]}",
                error="invalid_grant",
            )
        return body

    def redeem(self, code: str, login: PendingLogin, redirect_uri: str) -> dict:
        """Trade the code (and the PKCE verifier) for tokens."""
        return self.token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": login.code_verifier,
            }
        )

    def refresh(self, refresh_token: str) -> dict:
        """Trade the refresh token for a new pair (the provider rotates it)."""
        return self.token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def revoke(self, refresh_token: str) -> bool:
        """RFC 7009: revoke the refresh token (and so its family); False if the provider could
        not be told."""
        try:
            answer = self._call(
                "POST",
                self.metadata["revocation_endpoint"],
                data={"token": refresh_token, "token_type_hint": "refresh_token"},
                auth=(CLIENT_ID, self.secret),
            )
        except IdentityProviderDown:
            return False
        return answer.status_code == 200

    def id_token_claims(self, tokens: dict, nonce: str) -> dict:
        """The ID token's claims, once every rule holds: signature by a key of the provider's
        JWKS (the algorithm is the key's, never the token's), ``iss``, ``aud`` = ``bff``
        (and ``azp`` = ``bff`` when present or when ``aud`` lists others), ``nonce`` of this
        login, ``exp`` and ``iat`` on the lab clock, ``at_hash``."""
        token = tokens.get("id_token")
        if not isinstance(token, str):
            raise LoginRefused("the token response has no ID token (was openid asked for?)")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise LoginRefused(f"the ID token is malformed: {exc}") from None
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise LoginRefused(
                f"the ID token's kid {str(kid)[:40]!r} is not in the provider's JWKS"
            )
        try:
            claims = jwt.decode(
                token,
                key.verifying_key,
                algorithms=[key.alg],
                audience=CLIENT_ID,
                issuer=self.issuer,
                options={
                    "require": ["iss", "sub", "aud", "exp", "iat", "nonce"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise LoginRefused(f"the ID token is not acceptable: {exc}") from None
        several = isinstance(claims["aud"], list) and len(claims["aud"]) > 1
        if (several or "azp" in claims) and claims.get("azp") != CLIENT_ID:
            raise LoginRefused(
                f"the ID token's azp is {str(claims.get('azp'))[:40]!r}, not {CLIENT_ID!r}: with "
                "several audiences it must name this client (OpenID Connect Core 3.1.3.7)"
            )
        now = self.clock.now()
        if claims["exp"] + ID_TOKEN_LEEWAY <= now:
            raise LoginRefused("the ID token has expired")
        if claims["iat"] - ID_TOKEN_LEEWAY > now:
            raise LoginRefused("the ID token is issued in the future")
        if not hmac.compare_digest(str(claims["nonce"]), nonce):
            raise LoginRefused("the ID token's nonce is not this login's (a replayed ID token)")
        if "at_hash" in claims and claims["at_hash"] != at_hash(tokens.get("access_token", "")):
            raise LoginRefused("the ID token's at_hash does not match the access token")
        return claims
