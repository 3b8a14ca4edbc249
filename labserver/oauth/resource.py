"""What a resource server (an API that trusts the identity provider) checks on each request.

Nothing but the provider's JWKS: :class:`labserver.remote_keys.RemoteKeySet` (chapter 10's key
cache) holds its public keys, and :func:`labserver.access_tokens.verify_access_token` checks
every rule of chapter 2 with this API's own audience. Then:

* ``scope``: each endpoint names the scopes it needs; a valid token without them is a 403
  ``insufficient_scope`` (RFC 6750 section 3.1), not a 401: the caller *is* authenticated;
* **DPoP** (RFC 9449): a token with ``cnf.jkt`` is bound to a key. It must come as
  ``Authorization: DPoP <token>`` with a ``DPoP`` proof for this very request, signed by that
  key; sent as a Bearer token, or without a proof, it is refused. A copy of the token alone is
  useless to whoever stole it.

No store is read to accept a token, so an API keeps answering while the provider is down
(it has the keys); the only state is the DPoP proofs' ``jti``\\ s, which a proof check must
remember to refuse a replayed proof.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Request

from ..access_tokens import TokenPolicy, TokenRejected, verify_access_token
from ..http_errors import (
    AuthenticationRequired,
    InsufficientScope,
    InvalidToken,
    ServiceUnavailable,
    bearer_challenge,
)
from ..inputs import authorization
from ..remote_keys import RemoteKeySet
from . import dpop


@dataclass
class ResourceServer:
    """One API: its audience, the provider it trusts, and its copy of the provider's keys."""

    audience: str
    issuer: str
    keys: RemoteKeySet
    replay: dpop.ReplayCache | None
    leeway: float = 30.0

    def challenge(self) -> dict[str, str]:
        return {
            "WWW-Authenticate": f"{bearer_challenge(realm=self.audience)}, "
            f'DPoP algs="{" ".join(dpop.ALGORITHMS)}"'
        }

    def authenticate(self, req: Request, url: str, scopes: tuple[str, ...], now: float) -> dict:
        """The verified claims of the request's token, or the RFC 6750 / RFC 9449 error.

        ``url``: this request's URL as the client addressed it (for the DPoP proof's ``htu``).
        """
        auth = authorization(req)
        if auth is None or auth.type not in ("bearer", "dpop") or not auth.token:
            raise AuthenticationRequired(
                "send Authorization: Bearer <access token> (or DPoP <token> with a DPoP proof)",
                headers=self.challenge(),
            )
        policy = TokenPolicy(issuer=self.issuer, audience=self.audience, leeway=self.leeway)
        try:
            claims = verify_access_token(auth.token, self.keys, policy, now).claims
        except TokenRejected as exc:
            if exc.rule == "unknown_key" and not self.keys.reachable:
                raise ServiceUnavailable(
                    f"the identity provider's keys cannot be fetched ({self.keys.last_error})"
                ) from None
            raise InvalidToken(str(exc)) from None
        self._check_binding(req, auth, claims, url, now)
        self._check_scope(claims, scopes)
        return claims

    def _check_binding(self, req, auth, claims: dict, url: str, now: float) -> None:
        cnf = claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        if cnf is not None and not isinstance(jkt, str):
            raise InvalidToken("cnf must be an object with a jkt (RFC 9449 section 6.1)")
        if jkt is None:
            if auth.type == "dpop":
                raise InvalidToken("a DPoP request needs a DPoP-bound token (one with cnf.jkt)")
            return
        if auth.type != "dpop":
            raise InvalidToken(
                "this token is bound to a key (cnf.jkt): send it as Authorization: DPoP, with "
                "a DPoP proof signed by that key (RFC 9449 section 7.1)"
            )
        proofs = req.headers.getlist("DPoP")
        if len(proofs) != 1:
            raise InvalidToken("send exactly one DPoP header with a proof for this request")
        try:
            dpop.verify_proof(
                proofs[0],
                htm=req.method,
                htu=url,
                now=now,
                replay=self.replay,
                access_token=auth.token,
                expected_jkt=jkt,
            )
        except dpop.DPoPError as exc:
            raise InvalidToken(
                f"DPoP proof refused: {exc}",
                headers={"WWW-Authenticate": dpop.dpop_challenge("invalid_dpop_proof", str(exc))},
            ) from None

    @staticmethod
    def _check_scope(claims: dict, needed: tuple[str, ...]) -> None:
        scope = claims.get("scope", "")
        if not isinstance(scope, str):
            raise InvalidToken("scope must be a space-separated string (RFC 9068 section 2.2.3)")
        missing = [s for s in needed if s not in scope.split(" ")]
        if missing:
            raise InsufficientScope(
                f"this endpoint needs the scope {' '.join(needed)}; the token has {scope!r}"
                if scope
                else f"this endpoint needs the scope {' '.join(needed)}; the token has none",
                scope=" ".join(needed),
            )
