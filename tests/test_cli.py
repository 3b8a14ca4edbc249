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
