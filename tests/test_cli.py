"""The command line: `python -m labserver config`, `bench`, `sync-course --check`."""

import subprocess
import sys

from labserver.checking import ROOT


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labserver", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_config_lists_every_key_with_its_meaning():
    out = run("config").stdout
    assert "SERVICE_NAME = 'lab'" in out and "MAX_CONTENT_LENGTH = 65536" in out


def test_bench_prints_start_stop_and_a_ratio():
    result = run("bench", "--rounds", "2", "--requests", "20", "--starts", "2")
    assert result.returncode == 0, result.stderr
    for label in ("start_lab(), warm:", "lab.stop():", "real HTTP server:", "Flask test client:",
                  "test client / HTTP:"):
        assert label in result.stdout


def test_sync_course_check_passes_on_the_committed_notebooks():
    result = run("sync-course", "--check")
    assert result.returncode == 0, result.stdout


def test_unknown_command_is_a_usage_error():
    result = run("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr


TOKEN = ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0."  # {"alg":"HS256"}.{"sub":"a"}, any signature
         "c2lnbmF0dXJl")


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
