"""The command line: `python -m labserver config`, `bench`, `sync-course --check`."""

import subprocess
import sys

from labserver.checking import ROOT


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "labserver", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_config_lists_every_key_with_its_meaning():
    out = run("config").stdout
    assert "SERVICE_NAME = 'lab'" in out and "MAX_CONTENT_LENGTH = 65536" in out


def test_bench_prints_every_table_with_ratios_and_spread():
    result = run("bench", "--quick")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for label in (
        "checking one credential as the lab does",
        "HS256: sign and verify",
        "EdDSA: sign and verify",
        "session lookup (per lookup), ratio to one embedded HGETALL",
        "one HTTP request over loopback",
        "credential bytes sent",
        "start_lab(), warm:",
        "lab.stop():",
        "test client / HTTP:",
    ):
        assert label in out, label
    import re

    rows = re.findall(
        r"^(.+?)\s+[\d.]+ (?:µs|ms) \([\d.]+-[\d.]+\)\s+×[\d.]+ \([\d.]+-[\d.]+\)$", out, re.M
    )
    assert len(rows) >= 4 * 4 + 5 + 2 + 4, rows  # algorithms × 4, credential checks, store, HTTP
    assert re.search(r"^session cookie\s+\d+ B$", out, re.M) and re.search(
        r"^JWT RS256\s+\d+ B$", out, re.M
    )


def test_sync_course_check_passes_on_the_committed_notebooks():
    result = run("sync-course", "--check")
    assert result.returncode == 0, result.stdout


def test_unknown_command_is_a_usage_error():
    result = run("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr


TOKEN = (
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0."  # {"alg":"HS256"}.{"sub":"a"}, any signature
    "c2lnbmF0dXJl"
)


def test_decode_explains_a_key_file_that_is_not_json(tmp_path):
    broken = tmp_path / "jwks.json"
    broken.write_text('{"keys": [')
    result = run("decode", TOKEN, "--key", str(broken))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "starts like JSON but is not" in result.stderr


def test_decode_says_when_a_mistyped_path_became_the_secret():
    result = run("decode", TOKEN, "--key", "keys/missing.pem")
    assert "Traceback" not in result.stderr
    assert "no file 'keys/missing.pem'" in result.stderr


def test_cookie_explains_a_broken_url():
    result = run("cookie", "Set-Cookie: s=1; Path=/", "--url", "https://[::1/x")
    assert "Traceback" not in result.stderr and "not a URL this inspector can read" in result.stdout


def test_serve_runs_a_lab_app_on_loopback_until_stopped():
    import socket

    import requests

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "labserver", "serve", "--port", str(port), "--name", "api-9"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "api-9 on http://127.0.0.1:" in process.stdout.readline()
        with requests.Session() as http:  # listening since before that line was printed
            http.trust_env = False
            assert http.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_wsgi_module_reads_lab_config_from_the_environment():
    from labserver.wsgi import config_from_env

    config = config_from_env(
        {
            "LAB_SERVICE_NAME": "api-2",
            "LAB_EDGE_JWKS_MIN_INTERVAL": "10",
            "LAB_IMPL": "exercises",
            "LAB_NOT_A_KEY": "x",
            "PATH": "/bin",
        }
    )
    assert config == {"SERVICE_NAME": "api-2", "EDGE_JWKS_MIN_INTERVAL": 10}


def test_the_tools_explain_bytes_that_are_not_text_and_deep_nesting(tmp_path):
    """Found by an attack pass: a strict UTF-8 terminal and a 3,000-deep payload crashed them."""
    import base64
    import os
    import subprocess
    import sys

    deep = base64.urlsafe_b64encode(b"[" * 3000 + b"]" * 3000).rstrip(b"=").decode()
    cases = [
        ["cookie", os.fsdecode(b"a=b; Path=\xff; Domain=\xfe")],
        ["decode", f"eyJhbGciOiJIUzI1NiJ9.{deep}.c2ln"],
        ["decode", os.fsdecode(b"\xff.\xfe.\xfd")],
        ["time", os.fsdecode(b"\xff")],
    ]
    for args in cases:
        run = subprocess.run(
            [sys.executable, "-m", "labserver", *args],
            capture_output=True,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            timeout=60,
        )
        assert run.returncode in (0, 1), (args[0], run.stderr.decode(errors="replace")[-500:])
        assert b"Traceback" not in run.stderr
