"""Chapter 10's benchmark: what each request costs, as ratios measured in one run.

Absolute times on a shared machine move by tens of percent between runs, so every table here
compares operations measured side by side: interleaved rounds (A, B, C, A, B, C, ...), the
median over rounds, and the min-max spread. Key objects are prepared once: passing PEM bytes
per call would re-parse the key every time and measure that instead.

Work done in this process is timed in CPU time (:data:`THREAD_CPU`, :data:`PROCESS_CPU`), not on
the wall clock: when other programs keep the machine's cores busy, they take wall time from a
block but not CPU time, so the ratios stay put (on a 2-core machine with load 7, wall-clock
medians moved up to x5 from run to run, CPU-time medians by under 10%). Whatever involves another
process (a real Redis) is timed on the wall clock, :func:`time.perf_counter`.

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

import gc
import hashlib
import hmac
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from ..keys import ALGORITHMS, KeyRing
from ..users import PASSWORDS

ISSUER, AUDIENCE = "https://issuer.jwt-lab.test", "https://api.jwt-lab.test"

# Windows counts thread and process CPU time in scheduler ticks (about 15 ms): too coarse for a
# 10 ms block, so there the wall clock is used.
_CPU_CLOCKS = sys.platform != "win32"
THREAD_CPU: Callable[[], float] = time.thread_time if _CPU_CLOCKS else time.perf_counter
"""CPU time of the calling thread: for work done entirely in it (PyJWT, the embedded store)."""
PROCESS_CPU: Callable[[], float] = time.process_time if _CPU_CLOCKS else time.perf_counter
"""CPU time of this whole process: for an HTTP request whose client and server are both in it."""


def course_claims(now: float | None = None) -> dict:
    """Claims like the lab's access tokens, valid for 5 minutes from ``now``."""
    now = int(time.time() if now is None else now)
    return {
        "iss": ISSUER,
        "sub": "alice",
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "x" * 43,
        "client_id": "jwt-lab-notebook",
        "roles": ["user"],
        "token_version": 1,
    }


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
        """The row as the tables print it, times in ``label`` (``unit`` seconds each)."""
        times = f"{self.median / unit:>9.1f} {label} ({self.low / unit:.1f}-{self.high / unit:.1f})"
        return (
            f"{self.name:<40} {times}"
            f"   ×{self.ratio:.2f} ({self.ratio_low:.2f}-{self.ratio_high:.2f})"
        )


def paired(
    operations: dict[str, Callable[[], object]],
    baseline: str,
    *,
    rounds: int,
    calls: int | None = None,
    min_block: float = 0.01,
    progress: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> list[Timing]:
    """Time each operation in blocks, the operations interleaved round by round in a fresh
    random order each round, with the garbage collector off (as ``timeit`` does); ratios are to
    ``baseline`` within each round.

    A block is ``calls`` calls, or by default as many as take ``min_block`` seconds of ``clock``
    (measured in the warm-up), so that the clock's resolution and one-off pauses stay small next
    to it. ``clock`` is the wall clock by default; :data:`THREAD_CPU` for work done in this thread.
    """
    per_block_calls = {}
    for name, op in operations.items():  # warm-up: caches, lazy imports, and the block size
        start, n = clock(), 0
        while n < 3 or (clock() - start < min_block / 2 and n < 100_000):
            op()
            n += 1
        one = (clock() - start) / n
        per_block_calls[name] = calls or max(1, int(min_block / one) if one > 0 else 1)
    per_call: dict[str, list[float]] = {name: [] for name in operations}
    order = list(operations)
    shuffle = random.Random(20261127).shuffle  # a fixed seed: the same orders in every run
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            shuffle(order)
            for name in order:
                op, n = operations[name], per_block_calls[name]
                start = clock()
                for _ in range(n):
                    op()
                per_call[name].append((clock() - start) / n)
            if progress:
                progress()
    finally:
        if gc_was_on:
            gc.enable()
    base = per_call[baseline]
    timings = []
    for name, values in per_call.items():
        ratios = [v / b for v, b in zip(values, base, strict=True)]
        timings.append(
            Timing(
                name,
                statistics.median(values),
                min(values),
                max(values),
                statistics.median(ratios),
                min(ratios),
                max(ratios),
            )
        )
    return timings


def _floor(alg: str, key) -> tuple[Callable[[bytes], bytes], Callable[[bytes, bytes], object]]:
    """The raw sign and verify of ``alg`` with ``cryptography``/``hmac``: no JSON, no base64."""
    if alg == "HS256":
        secret = key.signing_key
        return (
            lambda m: hmac.new(secret, m, hashlib.sha256).digest(),
            lambda m, s: hmac.compare_digest(hmac.new(secret, m, hashlib.sha256).digest(), s),
        )
    private, public = key.signing_key, key.verifying_key
    if alg == "RS256":
        return (
            lambda m: private.sign(m, padding.PKCS1v15(), hashes.SHA256()),
            lambda m, s: public.verify(s, m, padding.PKCS1v15(), hashes.SHA256()),
        )
    if alg == "ES256":
        return (
            lambda m: private.sign(m, ec.ECDSA(hashes.SHA256())),
            lambda m, s: public.verify(s, m, ec.ECDSA(hashes.SHA256())),
        )
    return (lambda m: private.sign(m), lambda m, s: public.verify(s, m))  # EdDSA (Ed25519)


def crypto(rounds: int = 7, min_block: float = 0.01, progress=None) -> dict[str, list[Timing]]:
    """Per algorithm: PyJWT encode, and decode with every claim check, next to the floor;
    ratios to the floor's verify."""
    keys = KeyRing()
    claims = course_claims()
    tables = {}
    for alg in ALGORITHMS:
        operations = _crypto_operations(alg, keys.current(alg), claims)
        tables[alg] = paired(
            operations,
            "floor: verify (raw)",
            rounds=rounds,
            min_block=min_block,
            progress=progress,
            clock=THREAD_CPU,
        )
    return tables


def _crypto_operations(alg: str, key, claims: dict) -> dict[str, Callable[[], object]]:
    # A function of its own, so that each algorithm's closures keep that algorithm's values.
    headers = {"kid": key.kid, "typ": "at+jwt"}
    token = jwt.encode(claims, key.signing_key, algorithm=alg, headers=headers)
    message = token.rpartition(".")[0].encode()
    raw_sign, raw_verify = _floor(alg, key)
    raw_signature = raw_sign(message)
    sign_key, verify_key = key.signing_key, key.verifying_key  # key objects, prepared once
    return {
        "floor: sign (raw)": lambda: raw_sign(message),
        "PyJWT: encode": lambda: jwt.encode(claims, sign_key, algorithm=alg, headers=headers),
        "floor: verify (raw)": lambda: raw_verify(message, raw_signature),
        "PyJWT: decode (signature + claims)": lambda: jwt.decode(
            token,
            verify_key,
            algorithms=[alg],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub"]},
        ),
    }


def store(
    redis_url: str | None = None,
    rounds: int = 7,
    batch: int = 20,
    min_block: float = 0.01,
    progress=None,
) -> list[Timing]:
    """A session lookup (``HGETALL``) on the embedded store (and on ``redis_url``): ``batch``
    lookups one by one, and ``batch`` in one pipeline; per lookup, ratios to one embedded lookup."""
    from .. import store as store_module

    stores = {"embedded": store_module.connect(None)}
    if redis_url:
        stores["real Redis"] = store_module.connect(redis_url)
    session_key = store_module.key("bench-session", "x" * 43)
    operations = {}
    for label, client in stores.items():
        client.hset(
            session_key, mapping={"user": "alice", "roles": "user", "created": "1", "seen": "1"}
        )

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
        timings = paired(
            operations,
            "embedded: HGETALL",
            rounds=rounds,
            min_block=min_block,
            progress=progress,
            clock=time.perf_counter if redis_url else THREAD_CPU,
        )
    finally:
        for client in stores.values():
            client.delete(session_key)
    return [
        Timing(
            t.name,
            t.median / batch,
            t.low / batch,
            t.high / batch,
            t.ratio,
            t.ratio_low,
            t.ratio_high,
        )
        for t in timings
    ]


SESSION_CHECK = "session: the lab's check (2 round trips)"


def lab_session_check(client, clock, session_id: str) -> dict:
    """What the sessions chapter's authenticator asks of the store for one request (its own
    two calls): the session (HGETALL), then one pipeline recording its use and reading the user."""
    from ..session_records import find_session, mark_used_and_load_user

    record = find_session(
        client, clock, session_id, idle_timeout=900, absolute_timeout=3600, touch=False
    ).record
    return mark_used_and_load_user(client, clock, session_id, record["user"])


DPOP_CHECK = "JWT ES256 + DPoP proof (chapter 04)"


def _dpop_check(keys: KeyRing, policy) -> Callable[[], object]:
    """One request with a DPoP-bound token, checked as chapter 04's APIs do (no replay cache)."""
    from ..access_tokens import verify_access_token
    from ..oauth import dpop

    client_key = ec.generate_private_key(ec.SECP256R1())
    jkt = dpop.jwk_thumbprint(jwt.algorithms.ECAlgorithm.to_jwk(client_key.public_key(), True))
    key = keys.current("ES256")
    token = jwt.encode(
        {**course_claims(), "cnf": {"jkt": jkt}},
        key.signing_key,
        algorithm="ES256",
        headers={"kid": key.kid, "typ": "at+jwt"},
    )
    url = AUDIENCE + "/orders"
    proof = dpop.make_proof(client_key, "GET", url, iat=time.time(), access_token=token)

    def check():
        claims = verify_access_token(token, keys, policy, time.time()).claims
        return dpop.verify_proof(
            proof,
            htm="GET",
            htu=url,
            now=time.time(),
            replay=None,
            access_token=token,
            expected_jkt=claims["cnf"]["jkt"],
        )

    return check


def credential_checks(
    redis_url: str | None = None, rounds: int = 7, min_block: float = 0.01, progress=None
) -> list[Timing]:
    """What checking one credential costs the API, as the lab does it, in the same rounds:

    * session: look the session up (HGETALL), then one pipeline that records its last use and
      reads the user's record (HSET + HGETALL), as the sessions chapter's authenticator does;
      on the embedded store, and on ``redis_url`` if given;
    * JWT: the lab's verifier (``verify_access_token``: kid, typ, signature, iss, aud, required
      claims, times), per algorithm;
    * a DPoP-bound ES256 token (chapter 04): the same verifier, then the DPoP proof's checks
      (its own signature, htm, htu, iat, ath, the key's thumbprint against ``cnf.jkt``), without
      the replay cache's one store write.

    Ratios are to the session check on the embedded store.
    """
    from .. import store as store_module
    from ..access_tokens import TokenPolicy, verify_access_token
    from ..clock import LabClock
    from ..session_records import create_session, session_key
    from ..users import seed_demo_users

    clock = LabClock()
    stores = {"embedded store": store_module.connect(None, clock=clock)}
    if redis_url:
        stores["real Redis"] = store_module.connect(redis_url, clock=clock)
    operations, created = {}, []
    for label, client in stores.items():
        seed_demo_users(client)
        session_id = create_session(client, clock, "alice", ttl=600)
        created.append((client, session_id))

        name = (
            SESSION_CHECK if label == "embedded store" else "session: the lab's check, real Redis"
        )
        operations[name] = lambda client=client, session_id=session_id: lab_session_check(
            client, clock, session_id
        )
    keys = KeyRing()
    policy = TokenPolicy(issuer=ISSUER, audience=AUDIENCE)
    for alg in ALGORITHMS:
        key = keys.current(alg)
        token = jwt.encode(
            course_claims(),
            key.signing_key,
            algorithm=alg,
            headers={"kid": key.kid, "typ": "at+jwt"},
        )
        operations[f"JWT {alg}: the lab's verifier"] = lambda token=token: verify_access_token(
            token, keys, policy, time.time()
        )
    operations[DPOP_CHECK] = _dpop_check(keys, policy)
    try:
        return paired(
            operations,
            SESSION_CHECK,
            rounds=rounds,
            min_block=min_block,
            progress=progress,
            clock=time.perf_counter if redis_url else THREAD_CPU,
        )
    finally:
        for client, session_id in created:
            client.delete(session_key(session_id))


def http(
    lab,
    rounds: int = 7,
    min_block: float = 0.05,
    progress=None,
    clock: Callable[[], float] = PROCESS_CPU,
) -> list[Timing]:
    """One request over loopback HTTP per endpoint; ratios to the JWT endpoint.

    The client (``requests``) runs in the same Python process as the lab's server thread, so
    the times (this process's CPU time by default) include the client's own work, and both
    share one interpreter lock: the absolute milliseconds are this setup's, the ratios between
    endpoints are the point. Pass ``clock=time.perf_counter`` for the wall-clock latency."""
    alice = {"username": "alice", "password": PASSWORDS["alice"]}
    browser = lab.client()
    browser.post("/session/login", json=alice).raise_for_status()
    token = lab.client().post("/oauth/token", json=alice)
    token.raise_for_status()
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    api = lab.client()
    return paired(
        {
            "GET /health (no credential)": lambda: api.get("/health"),
            "GET /session/me (cookie, store)": lambda: browser.get("/session/me"),
            "GET /api/me (JWT, no store)": lambda: api.get("/api/me", headers=bearer),
            "GET /api/me/deny-checked (JWT + 1 read)": lambda: api.get(
                "/api/me/deny-checked", headers=bearer
            ),
        },
        "GET /api/me (JWT, no store)",
        rounds=rounds,
        min_block=min_block,
        progress=progress,
        clock=clock,
    )


def sizes(lab) -> dict[str, int]:
    """Bytes of credential header sent with every request, per scheme (the lab's own claims)."""
    alice = {"username": "alice", "password": PASSWORDS["alice"]}
    browser = lab.client()
    browser.post("/session/login", json=alice).raise_for_status()
    cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    result = {"session cookie": len(f"Cookie: {cookie}")}
    for alg in ALGORITHMS:
        answer = lab.client().post("/oauth/token", json={**alice, "alg": alg})
        token = answer.json()["access_token"]
        result[f"JWT {alg}"] = len(f"Authorization: Bearer {token}")
    return result


def report(quick: bool = False, redis_url: str | None = None, lab=None) -> str:
    """Every table as text; ``quick`` for a few seconds' run (a smoke test, not a measurement)."""
    from ..lab import start_lab

    rounds, block = (3, 0.002) if quick else (7, 0.01)
    own = lab is None
    lab = start_lab(redis_url="", replace=False) if own else lab
    try:
        lines = [
            (
                f"{rounds} interleaved rounds, in a random order each; median per call "
                "(min-max), and ×ratio to the section's first row (min-max over rounds)"
            ),
            "",
        ]
        lines += ["checking one credential as the lab does, ratio to the lab's session check"]
        lines += [t.row() for t in credential_checks(redis_url, rounds, block)] + [""]
        for alg, timings in crypto(rounds, block).items():
            lines += [f"{alg}: sign and verify, ratio to the raw verify"]
            lines += [t.row() for t in timings] + [""]
        lines += ["session lookup (per lookup), ratio to one embedded HGETALL"]
        lines += [t.row() for t in store(redis_url, rounds, min_block=block)] + [""]
        lines += [
            (
                "one HTTP request over loopback (client in the same process), "
                "ratio to the JWT endpoint"
            )
        ]
        lines += [t.row(1e-3, "ms") for t in http(lab, rounds, block * 5)] + [""]
        lines += ["credential bytes sent with every request"]
        lines += [f"{name:<40} {size:>5} B" for name, size in sizes(lab).items()]
    finally:
        if own:
            lab.stop()
    return "\n".join(lines)


def plot(timings: list[Timing], title: str, baseline: str):
    """A horizontal bar per row: its ratio to ``baseline`` (median), with the min-max spread.

    Each ratio is written past the end of its whisker, never on it, and the axis label is
    wrapped and kept inside the figure by ``tight_layout``."""
    import matplotlib.pyplot as plt  # a notebook's kernel draws inline; elsewhere Agg is picked

    fig, ax = plt.subplots(figsize=(8, 0.45 * len(timings) + 1.5))
    rows = timings[::-1]  # the first row on top
    names = [t.name for t in rows]
    ratios = [t.ratio for t in rows]
    spread = [[t.ratio - t.ratio_low for t in rows], [t.ratio_high - t.ratio for t in rows]]
    ax.barh(names, ratios, xerr=spread, capsize=3, color="#4c72b0", zorder=3)
    ax.axvline(1.0, color="#555", linewidth=1, linestyle="--", zorder=4)
    right = max(max(t.ratio_high, t.ratio) for t in rows)
    for y, t in enumerate(rows):
        ax.annotate(
            f"×{t.ratio:.2f}",
            (max(t.ratio_high, t.ratio), y),
            textcoords="offset points",
            xytext=(5, 0),
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, right * 1.18)  # room for the labels right of the longest whisker
    ax.set_xlabel(
        f"time per call ÷ {baseline}\n(bar: median of the rounds' ratios; whisker: min-max)"
    )
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3, zorder=0)
    fig.tight_layout()
    plt.close(fig)  # returned for display, not kept in pyplot's list of open figures
    return fig


def conclusions(checks: list[Timing], tables: dict[str, list[Timing]]) -> dict[str, bool]:
    """Claims chapter 10 makes from :func:`credential_checks` and :func:`crypto`, each read off
    the median of the rounds' ratios, ``{claim: holds}``.

    Strict nbval checks this output, so no claim may depend on how busy the machine is: each
    threshold sits more than three times past every median that the course's 2-core test machine
    measured in CPU time, idle and at load 6 to 12 (RSA sign/verify 13.7-15.7, HS256
    decode/HMAC 23.7-27.1, token check/session check 0.48-1.26). A per-round minimum or maximum
    is not used: one pre-empted block moves it, even on a quiet machine."""
    rs, hs = ({t.name: t for t in tables[alg]} for alg in ("RS256", "HS256"))
    return {
        "RSA signing costs more than 3 RSA verifies": rs["floor: sign (raw)"].ratio > 3,
        "for HS256, PyJWT's decode costs more than 5 HMACs: most of it is parsing and claim "
        "checks": (hs["PyJWT: decode (signature + claims)"].ratio) > 5,
        "a token check and a session check are within 10x of each other, for every algorithm": all(
            0.1 < t.ratio < 10 for t in checks if t.name != DPOP_CHECK
        ),
    }
