"""``python -m labserver bench``: what the in-process lab costs, measured as ratios.

Absolute times on a shared 2-core machine move by tens of percent from run to run, so each
number that matters is a ratio of two measurements taken in the same run, in interleaved
rounds (A, B, A, B, ...), reported as the median over rounds with the min-max spread.

* lab start and stop: wall time of ``start_lab()`` and ``lab.stop()`` in a warm process (the
  first start in a fresh process also pays for importing Flask and friends, measured apart);
* requests/s for ``GET /health`` through the real server (HTTP over loopback, keep-alive)
  against Flask's test client on the same app (no socket): the ratio is the price of real HTTP.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """Median of a list of measurements and its min-max range."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))

    def fmt(self, unit: str, scale: float = 1.0, digits: int = 1) -> str:
        return (
            f"{self.median * scale:.{digits}f} {unit} "
            f"(range {self.low * scale:.{digits}f}-{self.high * scale:.{digits}f})"
        )


def _rate(make_request: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        make_request()
    return n / (time.perf_counter() - start)


_COLD = """
import time
t = time.perf_counter()
from labserver import start_lab
lab = start_lab(redis_url="")
print(time.perf_counter() - t)
lab.stop()
"""


def _cold_start() -> float:
    """Seconds from a fresh Python process importing labserver to a running lab."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _COLD], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run(rounds: int = 7, requests_per_round: int = 300, starts: int = 10) -> dict[str, Spread]:
    """Measure and return ``{name: Spread}``; :func:`main` prints them."""
    cold_start = _cold_start()
    from ..lab import start_lab

    start_times, stop_times = [], []
    for _ in range(starts):
        t = time.perf_counter()
        lab = start_lab(redis_url="", replace=False)
        start_times.append(time.perf_counter() - t)
        lab.http.get("/health")
        t = time.perf_counter()
        lab.stop()
        stop_times.append(time.perf_counter() - t)

    lab = start_lab(redis_url="", replace=False)
    client = lab.app.test_client()
    http_get, test_get = (lambda: lab.http.get("/health")), (lambda: client.get("/health"))
    _rate(http_get, 50), _rate(test_get, 50)  # warm up both paths
    http_rates, test_rates, ratios = [], [], []
    for _ in range(rounds):
        h = _rate(http_get, requests_per_round)
        c = _rate(test_get, requests_per_round)
        http_rates.append(h), test_rates.append(c), ratios.append(c / h)
    lab.stop()
    return {
        "cold start": Spread.of([cold_start]),
        "start": Spread.of(start_times),
        "stop": Spread.of(stop_times),
        "http": Spread.of(http_rates),
        "test client": Spread.of(test_rates),
        "ratio": Spread.of(ratios),
    }


def main(rounds: int = 7, requests_per_round: int = 300, starts: int = 10) -> None:
    """Print the benchmark (``python -m labserver bench``)."""
    print(
        f"Lab benchmark: {starts} starts; {rounds} interleaved rounds of "
        f"{requests_per_round} GET /health per client\n"
    )
    r = run(rounds, requests_per_round, starts)
    cold_ms = r["cold start"].median * 1000
    print(f"first start in a fresh process, imports included: {cold_ms:.0f} ms")
    print(f"start_lab(), warm:   {r['start'].fmt('ms', 1000)}")
    print(f"lab.stop():          {r['stop'].fmt('ms', 1000)}")
    print(f"real HTTP server:    {r['http'].fmt('requests/s', digits=0)}")
    print(f"Flask test client:   {r['test client'].fmt('requests/s', digits=0)}")
    print(
        f"test client / HTTP:  {r['ratio'].fmt('x', digits=2)}  "
        "(how much faster the socket-free test client is, per round)"
    )
