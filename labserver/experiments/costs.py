"""Chapter 7's benchmark: what each request costs, as ratios measured in one run.

Absolute times on a shared machine move by tens of percent between runs, so every table here
compares operations measured side by side: interleaved rounds (A, B, C, A, B, C, ...), the
median over rounds, and the min-max spread. Key objects are prepared once: passing PEM bytes
per call would re-parse the key every time and measure that instead.

* :func:`credential_checks`: verifying a JWT per algorithm next to one session lookup;
* :func:`crypto`: JWT sign and verify per algorithm with PyJWT, next to the raw ``hmac`` or
  ``cryptography`` operation on the same bytes (the floor), so PyJWT's overhead shows;
* :func:`store`: a session lookup (``HGETALL``) on the embedded store, and on a real Redis
  when ``REDIS_URL`` is set; one command at a time and pipelined;
* :func:`http`: one request over loopback HTTP to the session endpoint, the JWT endpoint and
  the JWT endpoint with a deny-list check;
* :func:`sizes`: the bytes of credential each scheme sends with every request.

    >>> print(report(quick=True))
"""

from __future__ import annotations

import hashlib
import hmac
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from ..keys import ALGORITHMS, KeyRing
from ..users import PASSWORDS

CLAIMS = {"iss": "https://issuer.jwt-lab.test", "sub": "alice", "aud": "https://api.jwt-lab.test",
          "iat": 1_800_000_000, "nbf": 1_800_000_000, "exp": 1_800_000_300, "jti": "x" * 43,
          "client_id": "jwt-lab-notebook", "roles": ["user"], "token_version": 1}


@dataclass(frozen=True)
class Timing:
    """One operation's time per call over the rounds (seconds): median, min and max, and its
    ratio to the row it is compared with, round by round."""

    name: str
    median: float
    low: float
    high: float
    ratio: float  # median over rounds of (this / baseline) in the same round
    ratio_low: float
    ratio_high: float

    def row(self, unit: float = 1e-6, label: str = "µs") -> str:
        return (f"{self.name:<40} {self.median / unit:>9.1f} {label} ({self.low / unit:.1f}-{self.high / unit:.1f})"
                f"   ×{self.ratio:.2f} ({self.ratio_low:.2f}-{self.ratio_high:.2f})")


def paired(operations: dict[str, Callable[[], object]], baseline: str, *, rounds: int, calls: int,
           progress: Callable[[], None] | None = None) -> list[Timing]:
    """Time each operation ``calls`` times per round, the operations interleaved round by round;
    ratios are to ``baseline`` within each round."""
    per_call: dict[str, list[float]] = {name: [] for name in operations}
    for name, op in operations.items():  # warm-up: first calls pay for caches and lazy imports
        op()
    for _ in range(rounds):
        for name, op in operations.items():
            start = time.perf_counter()
            for _ in range(calls):
                op()
            per_call[name].append((time.perf_counter() - start) / calls)
        if progress:
            progress()
    base = per_call[baseline]
    timings = []
    for name, values in per_call.items():
        ratios = [v / b for v, b in zip(values, base)]
        timings.append(Timing(name, statistics.median(values), min(values), max(values),
                              statistics.median(ratios), min(ratios), max(ratios)))
    return timings


def _floor(alg: str, key) -> tuple[Callable[[bytes], bytes], Callable[[bytes, bytes], object]]:
    """The raw sign and verify of ``alg`` with ``cryptography``/``hmac``: no JSON, no base64."""
    if alg == "HS256":
        secret = key.signing_key
        return (lambda m: hmac.new(secret, m, hashlib.sha256).digest(),
                lambda m, s: hmac.compare_digest(hmac.new(secret, m, hashlib.sha256).digest(), s))
    private, public = key.signing_key, key.verifying_key
    if alg == "RS256":
        return (lambda m: private.sign(m, padding.PKCS1v15(), hashes.SHA256()),
                lambda m, s: public.verify(s, m, padding.PKCS1v15(), hashes.SHA256()))
    if alg == "ES256":
        return (lambda m: private.sign(m, ec.ECDSA(hashes.SHA256())),
                lambda m, s: public.verify(s, m, ec.ECDSA(hashes.SHA256())))
    return (lambda m: private.sign(m), lambda m, s: public.verify(s, m))  # EdDSA (Ed25519)


def crypto(rounds: int = 7, calls: int = 200, progress=None) -> dict[str, list[Timing]]:
    """Per algorithm: PyJWT encode and decode next to the floor; ratios to the floor's verify."""
    keys = KeyRing()
    tables = {}
    for alg in ALGORITHMS:
        key = keys.current(alg)
        token = jwt.encode(CLAIMS, key.signing_key, algorithm=alg, headers={"kid": key.kid, "typ": "at+jwt"})
        message = token.rpartition(".")[0].encode()
        raw_sign, raw_verify = _floor(alg, key)
        raw_signature = raw_sign(message)
        sign_key, verify_key = key.signing_key, key.verifying_key
        options = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}
        tables[alg] = paired({
            "floor: sign (raw)": lambda: raw_sign(message),
            "PyJWT: encode": lambda: jwt.encode(CLAIMS, sign_key, algorithm=alg, headers={"kid": key.kid}),
            "floor: verify (raw)": lambda: raw_verify(message, raw_signature),
            "PyJWT: decode (verify + claims)": lambda: jwt.decode(token, verify_key, algorithms=[alg],
                                                                  audience=CLAIMS["aud"], options=options),
        }, "floor: verify (raw)", rounds=rounds, calls=calls, progress=progress)
    return tables


def store(redis_url: str | None = None, rounds: int = 7, calls: int = 10, batch: int = 20,
          progress=None) -> list[Timing]:
    """A session lookup (``HGETALL``) on the embedded store (and on ``redis_url``): ``batch``
    lookups one by one, and ``batch`` in one pipeline; per lookup, ratios to one embedded lookup."""
    from .. import store as store_module

    stores = {"embedded": store_module.connect(None)}
    if redis_url:
        stores["real Redis"] = store_module.connect(redis_url)
    session_key = store_module.key("bench-session", "x" * 43)
    operations = {}
    for label, client in stores.items():
        client.hset(session_key, mapping={"user": "alice", "roles": "user", "created": "1", "seen": "1"})

        def one_by_one(client=client):
            for _ in range(batch):
                client.hgetall(session_key)

        def pipelined(client=client):
            with client.pipeline(transaction=False) as pipe:
                for _ in range(batch):
                    pipe.hgetall(session_key)
                pipe.execute()

        operations[f"{label}: HGETALL"] = one_by_one
        operations[f"{label}: HGETALL, pipelined by {batch}"] = pipelined
    try:
        timings = paired(operations, "embedded: HGETALL", rounds=rounds, calls=calls, progress=progress)
    finally:
        for client in stores.values():
            client.delete(session_key)
    return [Timing(t.name, t.median / batch, t.low / batch, t.high / batch, t.ratio, t.ratio_low, t.ratio_high)
            for t in timings]


def credential_checks(redis_url: str | None = None, rounds: int = 7, calls: int = 200,
                      progress=None) -> list[Timing]:
    """What checking one credential costs the API: a PyJWT decode per algorithm next to one
    session lookup, all in the same rounds; ratios to the embedded lookup."""
    from .. import store as store_module

    keys = KeyRing()
    options = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}
    operations = {}
    session_key = store_module.key("bench-session", "y" * 43)
    stores = {"embedded store": store_module.connect(None)}
    if redis_url:
        stores["real Redis"] = store_module.connect(redis_url)
    for label, client in stores.items():
        client.hset(session_key, mapping={"user": "alice", "roles": "user"})
        operations[f"session: HGETALL, {label}"] = lambda client=client: client.hgetall(session_key)
    for alg in ALGORITHMS:
        key = keys.current(alg)
        token = jwt.encode(CLAIMS, key.signing_key, algorithm=alg, headers={"kid": key.kid})
        operations[f"JWT: PyJWT decode {alg}"] = (
            lambda token=token, k=key.verifying_key, alg=alg:
            jwt.decode(token, k, algorithms=[alg], audience=CLAIMS["aud"], options=options))
    try:
        return paired(operations, "session: HGETALL, embedded store", rounds=rounds, calls=calls, progress=progress)
    finally:
        for client in stores.values():
            client.delete(session_key)


def http(lab, rounds: int = 7, calls: int = 100, progress=None) -> list[Timing]:
    """One request over loopback HTTP per endpoint; ratios to the JWT endpoint."""
    browser = lab.client()
    browser.post("/session/login", json={"username": "alice", "password": PASSWORDS["alice"]}).raise_for_status()
    token = lab.client().post("/oauth/token", json={"username": "alice", "password": PASSWORDS["alice"]})
    token.raise_for_status()
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    api = lab.client()
    return paired({
        "GET /health (no credential)": lambda: api.get("/health"),
        "GET /session/me (cookie, store)": lambda: browser.get("/session/me"),
        "GET /api/me (JWT, no store)": lambda: api.get("/api/me", headers=bearer),
        "GET /api/me/deny-checked (JWT + 1 read)": lambda: api.get("/api/me/deny-checked", headers=bearer),
    }, "GET /api/me (JWT, no store)", rounds=rounds, calls=calls, progress=progress)


def sizes(lab) -> dict[str, int]:
    """Bytes of credential header sent with every request, per scheme (the lab's own claims)."""
    browser = lab.client()
    browser.post("/session/login", json={"username": "alice", "password": PASSWORDS["alice"]}).raise_for_status()
    result = {"session cookie": len("Cookie: " + "; ".join(f"{k}={v}" for k, v in browser.cookies.items()))}
    for alg in ALGORITHMS:
        token = lab.client().post("/oauth/token", json={"username": "alice", "password": PASSWORDS["alice"],
                                                        "alg": alg}).json()["access_token"]
        result[f"JWT {alg}"] = len(f"Authorization: Bearer {token}")
    return result


def report(quick: bool = False, redis_url: str | None = None, lab=None) -> str:
    """Every table as text; ``quick`` for a few seconds' run (a smoke test, not a measurement)."""
    from ..lab import start_lab

    rounds, scale = (3, 0.1) if quick else (7, 1.0)
    own = lab is None
    lab = start_lab(redis_url="", replace=False) if own else lab
    try:
        lines = [f"{rounds} interleaved rounds; median per call (min-max), and ×ratio (min-max) per round", ""]
        lines += ["checking one credential, ratio to one session lookup on the embedded store"]
        lines += [t.row() for t in credential_checks(redis_url, rounds, max(10, int(200 * scale)))] + [""]
        for alg, timings in crypto(rounds, max(5, int(200 * scale))).items():
            lines += [f"{alg}: sign and verify, ratio to the raw verify"] + [t.row() for t in timings] + [""]
        lines += ["session lookup, ratio to one embedded HGETALL"]
        lines += [t.row() for t in store(redis_url, rounds, max(2, int(10 * scale)))] + [""]
        lines += ["one HTTP request over loopback, ratio to the JWT endpoint"]
        lines += [t.row(1e-3, "ms") for t in http(lab, rounds, max(5, int(100 * scale)))] + [""]
        lines += ["credential bytes sent with every request"]
        lines += [f"{name:<40} {size:>5} B" for name, size in sizes(lab).items()]
    finally:
        if own:
            lab.stop()
    return "\n".join(lines)


def plot(timings: list[Timing], title: str, baseline: str):
    """A horizontal bar per row: its ratio to ``baseline`` (median), with the min-max spread."""
    import matplotlib.pyplot as plt  # a notebook's kernel draws inline; elsewhere Agg is picked

    fig, ax = plt.subplots(figsize=(8, 0.45 * len(timings) + 1.2))
    names = [t.name for t in timings][::-1]
    ratios = [t.ratio for t in timings][::-1]
    spread = [[t.ratio - t.ratio_low for t in timings][::-1], [t.ratio_high - t.ratio for t in timings][::-1]]
    ax.barh(names, ratios, xerr=spread, capsize=3, color="#4c72b0", zorder=3)
    ax.axvline(1.0, color="#555", linewidth=1, linestyle="--", zorder=4)
    for y, r in enumerate(ratios):
        ax.annotate(f"×{r:.2f}", (r, y), textcoords="offset points", xytext=(6, -3), fontsize=8)
    ax.set_xlabel(f"time per call, relative to {baseline} (median over rounds, min-max)")
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3, zorder=0)
    fig.tight_layout()
    plt.close(fig)  # returned for display, not kept in pyplot's list of open figures
    return fig


def conclusions(checks: list[Timing], tables: dict[str, list[Timing]]) -> dict[str, bool]:
    """Claims chapter 7 makes from the measurements, each True or False (robust ones only:
    each holds by a wide margin on any machine we measured)."""
    by_name = {t.name: t for t in checks}
    rs = {t.name: t for t in tables["RS256"]}
    return {
        "RSA signing costs more than RSA verifying": rs["floor: sign (raw)"].median > rs["floor: verify (raw)"].median,
        "PyJWT's decode costs more than the raw verify, for every algorithm": all(
            {t.name: t for t in rows}["PyJWT: decode (verify + claims)"].median
            > {t.name: t for t in rows}["floor: verify (raw)"].median for rows in tables.values()),
        "one session lookup and one token check cost the same order of magnitude (within 10x)": all(
            0.1 < t.median / by_name["session: HGETALL, embedded store"].median < 10 for t in checks),
    }
