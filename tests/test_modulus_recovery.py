"""Algorithm confusion with no exposed key: the RSA modulus from two RS256 tokens.

The proof is ``test_the_labs_own_rsa_2048_key_is_recovered_and_forges_admin``: the full
recovery of the lab's real key from two tokens it issued over HTTP, the recovered n equal to its
JWKS modulus, and the forgery accepted by the confused endpoint and refused by the hardened lab.
It takes about 35 s (it prints its timings with ``-s``; nothing asserts a time). The other tests
are fast: the hand-written PKCS#1 v1.5 encoding against ``cryptography``'s signatures, small
keys (e = 3), garbage tokens, and the background runner, whose subprocess must never outlive
its parent.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jwt
import psutil
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from labserver.experiments import modulus_recovery as mr
from labserver.experiments.attacks import Attacker
from labserver.forge import hs256_with_key_bytes

ROOT = Path(__file__).resolve().parents[1]
# Small keys keep the fast tests fast; PyJWT's warning about them is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
NEEDS_GMPY2 = pytest.mark.skipif(
    mr.gmpy2 is None, reason="gmpy2 is not installed here (.ci/run installs requirements.txt)"
)


def key(bits: int, e: int):
    return rsa.generate_private_key(public_exponent=e, key_size=bits)


def rs256_pair(private, kid="rs256-1"):
    """Two different RS256 tokens signed by ``private``."""
    return [
        jwt.encode({"sub": "bob", "n": i}, private, algorithm="RS256", headers={"kid": kid})
        for i in (1, 2)
    ]


@pytest.fixture(scope="module")
def small_keys():
    """RSA keys with e = 3: s^3 - m has a few thousand bits, so the gcd takes microseconds."""
    return {bits: key(bits, 3) for bits in (1024, 2048)}


@pytest.fixture(scope="module")
def heavy_pair():
    """Two RS256 tokens of an RSA-1024 key with e = 65537: the gcd takes seconds (for the
    runner's tests, which stop it long before it ends)."""
    return rs256_pair(key(1024, 65537))


def modulus(private) -> int:
    return private.public_key().public_numbers().n


def process_gone(pid: int, within: float = 15.0) -> bool:
    """True once ``pid`` is gone (or a zombie: dead, not yet reaped), polled up to ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def wait_for_step(runner, step: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while runner.step != step and runner.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runner.step == step, runner.status()


# --- the encoding ------------------------------------------------------------------------------


@pytest.mark.parametrize(("bits", "e"), [(1024, 3), (1030, 65537), (2048, 65537), (3072, 65537)])
def test_the_encoding_is_what_rsa_signs(bits, e):
    """m = EMSA-PKCS1-v1_5(SHA-256(message)) is exactly s^e mod n of cryptography's signature,
    for whole-byte and odd modulus sizes."""
    private = key(bits, e)
    message = b"header.payload"
    signature = private.sign(message, padding.PKCS1v15(), hashes.SHA256())
    s = int.from_bytes(signature, "big")
    assert pow(s, e, modulus(private)) == mr.emsa_pkcs1_v15_sha256(message, bits)
    assert mr.emsa_pkcs1_v15_sha256(message.decode(), bits) == mr.emsa_pkcs1_v15_sha256(
        message, bits
    )


def test_the_encoding_has_the_rfc_8017_layout():
    """00 01, then ff bytes, 00, the DER DigestInfo of SHA-256 and the digest: k bytes in all."""
    em = mr.emsa_pkcs1_v15_sha256(b"x", 2048).to_bytes(256, "big")
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420")
    assert em[:2] == b"\x00\x01" and set(em[2:204]) == {0xFF} and em[204] == 0
    assert em[205:224] == digest_info and em[224:] == hashlib.sha256(b"x").digest()


def test_a_pyjwt_rs256_token_verifies_against_its_m(small_keys):
    """The m of a token PyJWT signed is its signature to the e, mod n."""
    private = small_keys[2048]
    token = rs256_pair(private)[0]
    parsed = mr.parse_rs256(token)
    assert pow(parsed.signature, 3, modulus(private)) == parsed.m()
    assert mr.divides_both(modulus(private), [parsed], e=3)
    assert not mr.divides_both(modulus(small_keys[1024]), [parsed], e=3)


# --- recovery of small keys --------------------------------------------------------------------


@pytest.mark.parametrize("bits", [1024, 2048])
def test_a_small_exponent_key_is_recovered_exactly(small_keys, bits):
    """With e = 3 the whole recovery is instant: n, and both PEMs a server might hold."""
    private = small_keys[bits]
    steps = []
    recovery = mr.recover_modulus(*rs256_pair(private), e=3, progress=steps.append)
    assert recovery.n == modulus(private) and recovery.bits == bits and recovery.e == 3
    assert steps == list(mr.STEPS) and set(mr.STEPS) < set(recovery.timings)
    public = private.public_key()
    assert recovery.pems == {
        "X.509 SubjectPublicKeyInfo": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "PKCS#1": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
    }


def test_small_cofactors_are_stripped_and_n_is_kept(small_keys):
    """The gcd is n times a small cofactor; every prime below 2^16 goes, n stays whole."""
    n = modulus(small_keys[1024])
    assert mr.strip_cofactors(n * 2**5 * 3 * 65521) == (n, 2**5 * 3 * 65521)
    assert mr.strip_cofactors(n) == (n, 1)


def test_without_gmpy2_small_keys_still_work_and_big_ones_say_why(small_keys, monkeypatch):
    """Python's integers do e = 3; for RSA-2048 with e = 65537 the answer is one line, at once."""
    monkeypatch.setattr(mr, "gmpy2", None)
    private = small_keys[1024]
    assert mr.recover_modulus(*rs256_pair(private), e=3).n == modulus(private)
    big = rs256_pair(key(2048, 65537))
    with pytest.raises(mr.RecoveryError, match="gmpy2 is not installed.*requirements.txt"):
        mr.recover_modulus(*big)
    runner = mr.BackgroundRecovery.start(*big)
    assert runner.pid is None and "gmpy2 is not installed" in runner.status()


# --- garbage -----------------------------------------------------------------------------------


def _garbage(small_keys):
    private = small_keys[1024]
    one, two = rs256_pair(private)
    other = rs256_pair(small_keys[2048])[0]
    same_size_other_key = rs256_pair(key(1024, 3))[1]
    ps256 = jwt.encode({"sub": "bob"}, private, algorithm="PS256")
    hs256 = jwt.encode({"sub": "bob"}, "a-secret-of-32-bytes-or-more-xxxx", algorithm="HS256")
    unsigned = one.rsplit(".", 1)[0] + "."
    return {
        "not a JWS": (("abc", two), "token 1 is not a signed compact JWS"),
        "unsigned": ((one, unsigned), "token 2 is not a signed compact JWS"),
        "not a string": ((None, two), "token 1 is a NoneType"),
        "bad base64": (("!!!." + one.split(".", 1)[1], two), "not base64url JSON"),
        "HS256": ((hs256, two), "signed 'HS256', not RS256: an HMAC has no public key"),
        "PS256": ((one, ps256), "RSA-PSS pads with a random salt"),
        "two keys of two sizes": ((one, other), "two different RSA keys"),
        "two kids": ((one, rs256_pair(private, kid="rs256-2")[1]), "name two keys"),
        "the same token twice": ((one, one), "sign the same message"),
        "two keys of one size": ((one, same_size_other_key), "not signed by one RSA key"),
    }


@pytest.fixture(scope="module")
def garbage(small_keys):
    return _garbage(small_keys)


GARBAGE = [
    "not a JWS",
    "unsigned",
    "not a string",
    "bad base64",
    "HS256",
    "PS256",
    "two keys of two sizes",
    "two kids",
    "the same token twice",
    "two keys of one size",
]


@pytest.mark.parametrize("case", GARBAGE)
def test_garbage_tokens_are_explained(garbage, case):
    """Each kind of wrong input is one RecoveryError that names the problem."""
    tokens, why = garbage[case]
    with pytest.raises(mr.RecoveryError, match=why.replace("(", r"\(")):
        mr.recover_modulus(*tokens, e=3)


@pytest.mark.parametrize("e", [2, 1, -3, 0, 3.0, "65537", None])
def test_an_exponent_that_rsa_cannot_have_is_explained(small_keys, e):
    with pytest.raises(mr.RecoveryError, match="e must be an odd integer of at least 3"):
        mr.recover_modulus(*rs256_pair(small_keys[1024]), e=e)
    assert (
        "e must be an odd integer"
        in mr.BackgroundRecovery.start(*rs256_pair(small_keys[1024]), e=e).status()
    )


@pytest.mark.parametrize("case", ["not a JWS", "PS256", "two keys of one size"])
def test_the_background_runner_explains_garbage_instead_of_raising(garbage, case):
    """start() and wait() never raise on bad tokens: status() says why, result() raises it."""
    tokens, why = garbage[case]
    runner = mr.BackgroundRecovery.start(*tokens, e=3)
    said = []
    assert runner.wait(timeout=60, say=said.append) is None
    assert runner.status().startswith("failed") and why in runner.status(), runner.status()
    assert said and why in said[-1]
    with pytest.raises(mr.RecoveryError, match=why):
        runner.result()


def run_cli(stdin: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "labserver.experiments.modulus_recovery"],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_the_command_line_recovers_and_explains(small_keys, garbage):
    """``python -m ...``: two tokens in, n and the PEMs out; garbage gives one line, exit 2."""
    private = small_keys[1024]
    done = run_cli(json.dumps({"tokens": rs256_pair(private), "e": 3}))
    assert done.returncode == 0, done.stderr
    assert f"n (1024 bits, e = 3) = 0x{modulus(private):x}" in done.stdout
    assert "BEGIN PUBLIC KEY" in done.stdout and "BEGIN RSA PUBLIC KEY" in done.stdout
    bad = run_cli(" ".join(garbage["PS256"][0]))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().startswith("no modulus: token 2 is signed 'PS256'")
    assert run_cli("").stderr.strip() == "no modulus: give exactly two RS256 tokens on stdin, not 0"


# --- the background runner ---------------------------------------------------------------------


def test_the_background_runner_recovers_a_small_key(small_keys):
    """start(), wait() with progress, result(): the subprocess's n is the key's."""
    private = small_keys[2048]
    runner = mr.BackgroundRecovery.start(*rs256_pair(private), e=3)
    said = []
    recovery = runner.wait(timeout=60, say=said.append)
    assert recovery is not None and recovery.n == modulus(private), runner.status()
    assert runner.result() == recovery and not runner.running
    assert runner.status().startswith("done: a 2048-bit n recovered in")
    assert said[-1] == runner.status()
    assert process_gone(runner.pid)


@NEEDS_GMPY2
def test_the_background_runner_reports_its_step_and_stops(heavy_pair):
    """While the gcd runs: status() names it, wait(timeout) returns None; stop() kills it."""
    runner = mr.BackgroundRecovery.start(*heavy_pair)
    try:
        wait_for_step(runner, "gcd")
        assert runner.status().startswith("gcd (step 4 of 6), "), runner.status()
        said = []
        assert runner.wait(timeout=0.3, say=said.append) is None and runner.running
        assert said and said[0].startswith("gcd (step 4 of 6)")
        runner.stop()
        assert not runner.running and runner.status().startswith("failed after")
        assert "stopped" in runner.status()
        with pytest.raises(mr.RecoveryError, match="stopped"):
            runner.result()
        assert process_gone(runner.pid)
    finally:
        runner.stop()


KERNEL = textwrap.dedent(
    """
    import json, sys, time
    from labserver.experiments.modulus_recovery import BackgroundRecovery
    runner = BackgroundRecovery.start(*json.loads(sys.stdin.readline()))
    while runner.step != "gcd" and runner.running:
        time.sleep(0.02)
    print(runner.pid, runner.step, flush=True)
    time.sleep(600)
    """
)


@NEEDS_GMPY2
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_the_subprocess_dies_with_its_kernel(heavy_pair, how):
    """A kernel killed in the middle of the gcd (which holds the GIL for seconds) leaves no
    orphan: the recovery's subprocess goes with it."""
    kernel = subprocess.Popen(
        [sys.executable, "-c", KERNEL],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    child = None
    try:
        kernel.stdin.write(json.dumps(heavy_pair) + "\n")
        kernel.stdin.flush()
        pid, step = kernel.stdout.readline().split()
        child = int(pid)
        assert step == "gcd" and psutil.Process(child).ppid() == kernel.pid
        kernel.send_signal(getattr(signal, how))
        kernel.wait(timeout=30)
        assert process_gone(child, within=5), f"the recovery subprocess {child} outlived its kernel"
    finally:
        if kernel.poll() is None:
            kernel.kill()
            kernel.wait()
        if child is not None and not process_gone(child, within=0):
            os.kill(child, signal.SIGKILL)  # our own grandchild, left by a failed check


# --- the lab's real key ------------------------------------------------------------------------


def jwks_modulus(attacker: Attacker) -> int:
    return mr.published_modulus(attacker, "rs256-1")[0]


@NEEDS_GMPY2
def test_the_labs_own_rsa_2048_key_is_recovered_and_forges_admin(vlab):
    """Two RS256 tokens from the lab over HTTP; the gcd in the background while the lab keeps
    answering; n equal to the JWKS modulus; the forgery accepted by the confused endpoint and
    refused by the hardened lab."""
    attacker = Attacker(vlab)
    tokens = [attacker.token("bob", alg="RS256") for _ in range(2)]
    runner = mr.BackgroundRecovery.start(*tokens)
    try:
        wait_for_step(runner, "gcd")
        assert attacker.try_token("/api/me", tokens[0]).startswith("accepted: sub 'bob'"), (
            "the lab answers while the gcd runs in its subprocess"
        )
        recovery = runner.wait(timeout=600, every=10)
    finally:
        runner.stop()
    assert recovery is not None, runner.status()
    print("seconds:", ", ".join(f"{k} {v:.2f}" for k, v in recovery.timings.items()))
    assert recovery.n == jwks_modulus(attacker) and recovery.bits == 2048
    assert recovery.e == 65537

    claims = attacker.claims(tokens[0], roles=["admin"])
    forged = mr.forge_with_recovered_key(recovery, claims, "rs256-1")
    assert attacker.try_token("/vulnerable/alg-confusion/me", forged) == (
        "accepted: sub 'bob', roles ['admin']"
    )
    assert attacker.try_token("/api/me", forged).startswith("401 algorithm not allowed")
    pkcs1 = mr.forge_with_recovered_key(recovery, claims, "rs256-1", pem="PKCS#1")
    assert attacker.try_token("/vulnerable/alg-confusion/me", pkcs1) == "401 bad HS256 signature"

    said = []
    for_vulnerable, for_hardened = mr.forge_no_exposed_key(attacker, recovery, say=said.append)
    assert said == [], "a finished recovery is used as it is"
    assert attacker.try_token("/vulnerable/alg-confusion/me", for_vulnerable).startswith(
        "accepted: sub 'bob', roles ['admin']"
    )
    assert attacker.try_token("/api/me", for_hardened).startswith("401 algorithm not allowed")


def test_the_battery_hook_in_fast_mode_checks_the_published_key_and_says_so(vlab):
    """Without a recovery, forge_no_exposed_key uses the JWKS n once it has checked it against
    two fresh tokens, says so, and its forgery breaks the confused endpoint only."""
    attacker = Attacker(vlab)
    said = []
    for_vulnerable, for_hardened = mr.forge_no_exposed_key(attacker, say=said.append)
    assert said == [mr.FAST_MODE_NOTE]
    assert attacker.try_token("/vulnerable/alg-confusion/me", for_vulnerable).startswith(
        "accepted: sub 'bob', roles ['admin']"
    )
    assert attacker.try_token("/api/me", for_hardened).startswith("401 algorithm not allowed")
    pem = mr.candidate_pems(jwks_modulus(attacker))["X.509 SubjectPublicKeyInfo"]
    header = jwt.get_unverified_header(for_vulnerable)
    same = hs256_with_key_bytes(
        header, jwt.decode(for_vulnerable, options={"verify_signature": False}), pem
    )
    assert same == for_vulnerable, "the fast mode signs with the JWKS key's PEM"


def test_the_battery_hook_refuses_a_recovery_of_another_key(vlab, small_keys):
    """A recovery whose n did not sign the lab's tokens is refused, not used."""
    stale = mr.recover_modulus(*rs256_pair(small_keys[2048]), e=3)
    with pytest.raises(mr.RecoveryError, match="did not sign the lab's current RS256 tokens"):
        mr.forge_no_exposed_key(Attacker(vlab), stale, say=None)
