"""The revocation-window experiment: how long a revoked credential keeps working, per strategy,
and how many store round trips per request that strategy costs.

For each strategy, a client logs in as alice and keeps a copy of her credential (as a thief
would), then replays it against the real lab server over HTTP at a steady rate of lab-clock
time. At a chosen moment alice's access is revoked (logout, a revocation request, a role
removal: whatever that strategy's revocation is). The experiment records every response, and
reports

* the **window**: from the revocation to the last request that still succeeded (0 when the
  first request after the revocation already fails);
* the **worst case** the strategy allows, computed from the configuration, not measured (for
  tokens checked only by signature: their lifetime plus the leeway, since a revocation may come
  right after the token was issued);
* **store round trips per request** while the credential is still good (before the
  revocation: the strategy's everyday price), counted by the lab's request log, refreshes
  included. Refreshes come once per access-token lifetime, so their share depends on how
  often the client calls: here, once per ``interval``.

Nothing is modelled: each number is a response of the lab server, on its own clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..clock import LabClock
from ..lab import Lab, start_lab
from ..users import PASSWORDS

USER = "alice"
ADMIN = ("admin", PASSWORDS["admin"])


class Strategy:
    """One way of authenticating and revoking; subclasses fill in the three steps."""

    name = ""
    revoked_by = ""
    endpoint = "/api/me"

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.http = lab.client()  # the thief's client: it only replays the copied credential

    def start(self) -> None:
        """Log in and keep a copy of the credential."""

    def headers(self) -> dict[str, str]:
        return {}

    def before_request(self) -> int:
        """Anything the client does before each API request (e.g. refresh); returns how many
        extra HTTP requests that made."""
        return 0

    def revoke(self) -> None:
        """Revoke alice's access, this strategy's way."""

    def worst_case(self) -> float:
        """The longest window this strategy allows (seconds)."""
        return 0.0

    # helpers
    def _token(self, lifetime: int) -> dict:
        response = self.lab.client().post(
            "/oauth/token",
            json={"username": USER, "password": PASSWORDS[USER], "lifetime": lifetime},
        )
        response.raise_for_status()
        return response.json()

    def _bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def _logout_everywhere(self, token: str) -> None:
        self.lab.client().post(
            "/oauth/logout-everywhere", headers=self._bearer(token)
        ).raise_for_status()

    def _token_worst_case(self, lifetime: int) -> float:
        return lifetime + self.lab.app.config["TOKEN_LEEWAY"]


class Session(Strategy):
    name = "server-side session"
    revoked_by = "logout"
    endpoint = "/session/me"

    def start(self) -> None:
        browser = self.lab.client()
        response = browser.post(
            "/session/login", json={"username": USER, "password": PASSWORDS[USER]}
        )
        response.raise_for_status()
        self.browser, self.csrf = browser, response.json()["csrf_token"]
        self.cookie = browser.cookies["session"]

    def headers(self) -> dict[str, str]:
        return {"Cookie": f"session={self.cookie}"}

    def revoke(self) -> None:
        self.browser.post("/session/logout", headers={"X-CSRF-Token": self.csrf}).raise_for_status()


class JwtOnly(Strategy):
    name = "JWT, 60 min, signature only"
    revoked_by = "logout everywhere"
    lifetime = 3600

    def start(self) -> None:
        self.token = self._token(self.lifetime)["access_token"]

    def headers(self) -> dict[str, str]:
        return self._bearer(self.token)

    def revoke(self) -> None:
        self._logout_everywhere(self.token)

    def worst_case(self) -> float:
        return self._token_worst_case(self.lifetime)


class ShortJwtWithRefresh(Strategy):
    name = "JWT, 5 min + refresh token"
    revoked_by = "logout everywhere"
    lifetime = 300

    def __init__(self, lab: Lab, interval: float) -> None:
        super().__init__(lab)
        self.interval = interval

    def start(self) -> None:
        tokens = self._token(self.lifetime)
        self.token, self.refresh = tokens["access_token"], tokens["refresh_token"]
        self.exp = self.lab.clock.now() + self.lifetime

    def headers(self) -> dict[str, str]:
        return self._bearer(self.token)

    def before_request(self) -> int:
        # Refresh when the access token would expire before the next request.
        if self.exp - self.lab.clock.now() > self.interval:
            return 0
        response = self.http.post(
            "/oauth/token",
            json={
                "grant_type": "refresh_token",
                "refresh_token": self.refresh,
                "lifetime": self.lifetime,
            },
        )
        if response.status_code == 200:
            tokens = response.json()
            self.token, self.refresh = tokens["access_token"], tokens["refresh_token"]
            self.exp = self.lab.clock.now() + self.lifetime
        return 1

    def revoke(self) -> None:
        self._logout_everywhere(self.token)

    def worst_case(self) -> float:
        return self._token_worst_case(self.lifetime)


class JwtWithVersion(JwtOnly):
    name = "JWT + token-version check"
    endpoint = "/api/me/version-checked"

    def worst_case(self) -> float:
        return 0.0


class JwtWithDenyList(JwtOnly):
    name = "JWT + deny list"
    revoked_by = "revocation request (RFC 7009)"
    endpoint = "/api/me/deny-checked"

    def revoke(self) -> None:
        self.lab.client().post("/oauth/revoke", json={"token": self.token}).raise_for_status()

    def worst_case(self) -> float:
        return 0.0


class JwtRolesRechecked(JwtOnly):
    name = "JWT + permission re-check"
    revoked_by = "role removal"
    endpoint = "/api/reports"

    def start(self) -> None:
        self.lab.http.put(
            f"/admin/users/{USER}/roles", json={"roles": ["user", "editor"]}, auth=ADMIN
        ).raise_for_status()
        super().start()

    def revoke(self) -> None:
        self.lab.http.put(
            f"/admin/users/{USER}/roles", json={"roles": ["user"]}, auth=ADMIN
        ).raise_for_status()

    def worst_case(self) -> float:
        return 0.0


class JwtRolesFromToken(JwtRolesRechecked):
    name = "JWT, 60 min, roles from the token"
    endpoint = "/api/reports/from-token"

    def worst_case(self) -> float:
        return self._token_worst_case(self.lifetime)


@dataclass(frozen=True)
class Result:
    """What one strategy measured."""

    strategy: str
    revoked_by: str
    window: float  # seconds the revoked credential kept working (measured)
    worst_case: float  # seconds it could keep working at most (from the configuration)
    requests: int  # API requests made with the credential
    round_trips_per_request: float  # store round trips per API request before the revocation

    def row(self) -> str:
        return (
            f"{self.strategy:<34} {self.revoked_by:<30} {_minutes(self.window):>9} "
            f"{_minutes(self.worst_case):>10} {self.round_trips_per_request:>8.2f}"
        )


HEADER = (
    f"{'strategy':<34} {'revoked by':<30} {'window':>9} {'worst case':>10} {'store/req':>8}"
    "\n" + f"{'':<34} {'':<30} {'measured':>9} {'by config':>10} {'measured':>8}"
)


def _minutes(seconds: float) -> str:
    return "0" if seconds == 0 else f"{seconds / 60:.1f} min"


def measure(strategy: Strategy, *, interval: float, revoke_at: float, horizon: float) -> Result:
    """Run one strategy: requests every ``interval`` s of lab time from 0 to ``horizon``,
    revocation at ``revoke_at`` (just before the request due then)."""
    lab = strategy.lab
    start = lab.clock.now()
    strategy.start()
    revoked, successes_after, requests, before, trips_before = False, [], 0, 0, 0
    t = 0.0
    while t <= horizon:
        if not revoked and t >= revoke_at:
            lab.clock.advance_to(start + revoke_at)  # the revocation happens exactly at revoke_at
            strategy.revoke()
            revoked = True
        lab.clock.advance_to(start + t)
        extra = strategy.before_request()
        status = strategy.http.get(strategy.endpoint, headers=strategy.headers()).status_code
        requests += 1
        if not revoked:
            before += 1
            trips_before += sum(r.store_round_trips for r in lab.request_log.last(1 + extra))
        elif status == 200:
            successes_after.append(t)
        t += interval
    window = (max(successes_after) - revoke_at) if successes_after else 0.0
    return Result(
        strategy.name,
        strategy.revoked_by,
        window,
        strategy.worst_case(),
        requests,
        trips_before / before,
    )


def run(
    lab: Lab | None = None,
    *,
    interval: float = 60,
    revoke_at: float = 12.5 * 60,
    horizon: float = 70 * 60,
    only: list[str] | None = None,
) -> list[Result]:
    """Measure every strategy (or those named in ``only``), one after another, on one private
    lab (frozen clock, refresh tokens on) unless a lab is given. Alice's roles are put back after
    each strategy. The window's resolution is ``interval``."""
    own = lab is None
    if own:
        lab = start_lab(
            {"REFRESH_TOKENS": True}, clock=LabClock.frozen(), redis_url="", replace=False
        )
    try:
        strategies = [
            Session(lab),
            JwtWithDenyList(lab),
            JwtWithVersion(lab),
            JwtRolesRechecked(lab),
            ShortJwtWithRefresh(lab, interval),
            JwtOnly(lab),
            JwtRolesFromToken(lab),
        ]
        if only is not None:
            strategies = [s for s in strategies if s.name in only]
        results = []
        for strategy in strategies:
            results.append(
                measure(strategy, interval=interval, revoke_at=revoke_at, horizon=horizon)
            )
            lab.http.put(f"/admin/users/{USER}/roles", json={"roles": ["user"]}, auth=ADMIN)
        return results
    finally:
        if own:
            lab.stop()


def table(results: list[Result]) -> str:
    """The results as an aligned text table."""
    return "\n".join([HEADER] + [r.row() for r in results])


def plot(results: list[Result]):
    """Window against store round trips per request: one point per distinct result, labelled
    with every strategy that measured it (several share a point: that is the lesson), and the
    worst case the configuration allows as a hollow marker above it."""
    import matplotlib.pyplot as plt  # a notebook's kernel draws inline; elsewhere Agg is picked

    groups: dict[tuple[float, float], list[Result]] = {}
    for r in results:
        groups.setdefault((round(r.round_trips_per_request, 2), r.window / 60), []).append(r)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax = plt.subplots(figsize=(9, 5))
    points = []  # (label, its own markers)
    for colour, ((x, y), members) in zip(colours, sorted(groups.items()), strict=False):
        own = [ax.scatter(x, y, s=60 + 40 * (len(members) - 1), color=colour, zorder=4)]
        worst = max(m.worst_case for m in members) / 60
        if worst > y:
            ax.plot([x, x], [y, worst], ls=":", color=colour, zorder=2)
            own.append(ax.scatter(x, worst, s=60, facecolors="white", edgecolors=colour, zorder=3))
        label = ax.annotate(
            "\n".join(m.strategy for m in members),
            (x, y),
            fontsize=9,
            textcoords="offset points",
            xytext=(9, 0),
            va="center",
            color=colour,
        )
        points.append((label, own))
    ax.scatter([], [], s=60, color="grey", label="revoked credential still worked (measured)")
    ax.scatter(
        [],
        [],
        s=60,
        facecolors="white",
        edgecolors="grey",
        label="worst case the configuration allows",
    )
    ax.legend(loc="upper right", fontsize=9, frameon=False)
    ax.set_xlabel("store round trips per request (measured, before the revocation)")
    ax.set_ylabel("window after the revocation (min)")
    ax.set_title("Revocation window against the price of checking")
    ax.grid(True, alpha=0.3)
    top = max(r.worst_case for r in results) / 60
    ax.set_ylim(-0.08 * top - 3, top * 1.12 + 3)
    ax.set_xlim(-0.15, max(r.round_trips_per_request for r in results) + 1.4)
    fig.tight_layout()
    _keep_labels_clear(fig, points)
    plt.close(fig)  # returned for display, not kept in pyplot's list of open figures
    return fig


def _keep_labels_clear(fig, points) -> None:
    """Move a label to the left of its point when, on the right, it would cover another
    group's marker or a label placed before it."""
    from matplotlib.transforms import Bbox

    renderer = fig.canvas.get_renderer()

    def box(marker):  # a marker's square on the canvas, with a margin
        ((x, y),) = marker.get_offset_transform().transform(marker.get_offsets())
        r = (marker.get_sizes()[0] ** 0.5 / 2 + 3) * fig.dpi / 72
        return Bbox.from_extents(x - r, y - r, x + r, y + r)

    boxes = [[box(m) for m in own] for _, own in points]
    placed = []
    for index, (label, _) in enumerate(points):
        others = [b for i, group in enumerate(boxes) if i != index for b in group] + placed
        extent = label.get_window_extent(renderer)
        if any(extent.overlaps(b) for b in others):
            label.set_horizontalalignment("right")
            label.set_position((-9, 0))
            extent = label.get_window_extent(renderer)
        placed.append(extent)
