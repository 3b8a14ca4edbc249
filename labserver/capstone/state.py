"""A running capstone's state: its description, keys, users, sessions, hosted files.

Sessions live in the lab's store (shared with the lab, under a key prefix of their own); the
rest is in memory, per app. Two of the catalogue's flaws are here: ``predictable-session``
(:meth:`CapstoneState.new_session` numbers sessions with a counter) and ``weak-secret`` (the
HS256 secret is a word). Two leaks are here in every build, flawed or not: an expired token of
carol's in the page ``incident.txt`` (what ``unbound-refresh`` redeems), and the tokens her
dashboard sends in a URL (what ``token-in-url`` lets the access log keep whole). carol, the
shop's admin, logged in when the server started and stays logged in: she is the victim of the
session flaws (and of those two leaks), and nobody knows her password.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import secrets
import shutil
import tempfile
import threading
import warnings
import weakref
from pathlib import Path

import jwt
from jwt.warnings import InsecureKeyLengthWarning
from werkzeug.security import generate_password_hash

from ..keys import SigningKey
from ..store import key
from ..users import DEMO_USERS
from .target import draw
from .verify import AUDIENCE, ISSUER, Verifier

VICTIM = "carol"
SESSION_LIFETIME = 8 * 3600
TOKEN_LIFETIME = 300
#: The shop's pages (GET /pages/<name>), kept as files next to the keys' folder; the incident
#: report is written per target (it quotes an expired token of carol's: the unbound-refresh
#: flaw's leak, there in every build).
PAGES = {
    "help.txt": b"Capstone shop: log in as bob (password builder) or alice (wonderland).\n",
    "style.css": b"body { font-family: sans-serif; margin: 2em; }\n",
    "incident.txt": b"",
}
INCIDENT = (
    "Incident report (closed): a debug log of last week held a request of carol's, her access "
    "token included. It expired an hour ago, so no harm done:\n\n"
    "GET /api/orders HTTP/1.1\nAuthorization: Bearer {token}\n"
)
#: How often carol's dashboard fetches her orders, with the token in the URL (lab seconds).
DASHBOARD_EVERY = 60


class CapstoneState:
    """One target: ``app.extensions["capstone"]``."""

    def __init__(self, app) -> None:
        config, lab = app.config, app.extensions["lab"]
        seed = config["CAPSTONE_SEED"] if config["CAPSTONE_SEED"] is not None else 0
        self.description = draw(
            seed, hardened=bool(config["CAPSTONE_HARDENED"]), flaws=config["CAPSTONE_FLAWS"]
        )
        self.flaws = self.description.flaws
        self.store = lab.store
        self.instance = secrets.token_hex(4)  # several targets may share one store
        self.lock = threading.Lock()
        self.counter = itertools.count(self.description.first_session)
        self.files: dict[str, dict] = {}
        self.issued: collections.OrderedDict[str, None] = collections.OrderedDict()
        weak = self.flaws.get("/token") == "weak-secret"
        secret = self.description.weak_secret.encode() if weak else secrets.token_bytes(32)
        self.es256 = SigningKey("es256-1", "ES256")
        self.rs256 = SigningKey("rs256-1", "RS256")  # made on first use (RSA takes 0.1 s)
        self.hs256 = SigningKey("hs256-1", "HS256", secret)
        self.sandbox = self._sandbox(app, secret)
        self.verifier = Verifier(
            {k.kid: k for k in (self.es256, self.rs256, self.hs256)},
            self.sandbox,
            lab.clock.now,
            own_url=lambda: lab.own_url,
            tls_cert=lambda: lab.tls_cert,
        )
        self.victim_password = secrets.token_urlsafe(16)
        users = {u.username: (u.password_hash, u.roles) for u in DEMO_USERS}
        users.pop("admin")  # the shop's only admin is carol
        victim_hash = generate_password_hash(self.victim_password, "pbkdf2:sha256:1000")
        self.users = {**users, VICTIM: (victim_hash, ("user", "admin"))}
        self.victim_session = self.new_session(VICTIM)
        # carol's token as the incident report quotes it: expired an hour ago, on the lab clock
        now = int(lab.clock.now())
        self.leaked_token = self.sign(VICTIM, ("user", "admin"), "ES256", now - 3600)
        incident = INCIDENT.format(token=self.leaked_token).encode()
        (self.sandbox / "pages" / "incident.txt").write_bytes(incident)
        self.url_tokens: set[str] = set()  # tokens carol's dashboard sent in a URL (hashed)
        self.dashboard_polled: float | None = None

    def sign(self, username: str, roles, alg: str, iat: int) -> str:
        """An access token of this target's for ``username`` issued at ``iat``, remembered."""
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": username,
            "roles": list(roles),
            "iat": iat,
            "exp": iat + TOKEN_LIFETIME,
            "jti": secrets.token_urlsafe(16),
        }
        signer = {"ES256": self.es256, "RS256": self.rs256, "HS256": self.hs256}[alg]
        with warnings.catch_warnings():  # a weak secret is short: on purpose, when it is drawn
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            token = jwt.encode(
                claims,
                signer.signing_key,
                algorithm=alg,
                headers={"typ": "at+jwt", "kid": signer.kid},
            )
        self.remember(token)
        return token

    @staticmethod
    def _sandbox(app, secret: bytes) -> Path:
        """A folder of its own: keys/hs256-1 (the HMAC secret) and pages/ (what GET /pages
        serves), removed with the app."""
        folder = Path(tempfile.mkdtemp(prefix="jwt-lab-capstone-"))
        (folder / "keys").mkdir()
        (folder / "pages").mkdir()
        (folder / "keys" / "hs256-1").write_bytes(secret)
        for name, content in PAGES.items():
            (folder / "pages" / name).write_bytes(content)
        weakref.finalize(app, shutil.rmtree, folder, True)
        return folder

    def session_key(self, sid: str) -> str:
        return key("capstone", self.instance, "session", sid)

    def new_session(self, user: str, sid: str | None = None) -> str:
        """Store a session for ``user`` ("" before a login) under ``sid`` or a new ID."""
        if sid is None and self.flaws.get("/login") == "predictable-session":
            with self.lock:
                sid = str(next(self.counter))  # the flaw: a counter, not a random ID
        sid = sid or secrets.token_urlsafe(32)
        name = self.session_key(sid)
        self.store.hset(name, mapping={"user": user})
        self.store.expire(name, SESSION_LIFETIME)
        return sid

    def remember(self, token: str) -> None:
        """Record a token this target issued (the scorer tells forgeries from it)."""
        with self.lock:
            self.issued[hashlib.sha256(token.encode()).hexdigest()] = None
            while len(self.issued) > 10_000:
                self.issued.popitem(last=False)

    def facts(self) -> dict:
        """What the scorer needs: the victim and her session, the tokens issued, the secret,
        the tokens carol's dashboard sent in a URL."""
        with self.lock:
            issued, url_tokens = set(self.issued), set(self.url_tokens)
        weak = "weak-secret" in self.flaws.values()
        return {
            "victim": VICTIM,
            "victim_password": self.victim_password,
            "victim_session": self.victim_session,
            "issued": issued,
            "rsa_kid": self.rs256.kid,
            "weak_secret": self.description.weak_secret if weak else None,
            "verifier": self.verifier,
            "url_tokens": url_tokens,
        }
