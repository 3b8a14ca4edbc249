"""A capstone target: which flaws sit where, drawn from a seed, and the handle to a running one.

    >>> draw(2026).flaws                 # the same for every run, machine and Python
    {'/login': 'predictable-session', '/api/orders': 'kid-sql', '/api/admin/report': 'x5c'}

``draw(seed)`` is a plain description (:class:`Description`): the same seed gives the same
flaws on the same endpoints and the same secrets where secrets matter (the weak HMAC secret),
so an instructor can give a class one seed. ``start_lab(capstone=seed)`` serves it as
``lab.capstone`` (a :class:`CapstoneTarget`), an app of its own (``APP_ROLE "capstone"``) on its
own port, sharing the lab's store and clock.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

from .catalogue import CATALOGUE, FLAWS, PLACES

#: How many flaws a target carries, each on its own endpoint.
FLAWS_PER_TARGET = 3
#: The seed the course's notebook and exercise 23 use, unless ``$LAB_CAPSTONE_SEED`` says another.
COURSE_SEED = "jwt-lab-2026"


def class_seed() -> str:
    """The class's seed: ``$LAB_CAPSTONE_SEED`` (an instructor sets it), else the course's."""
    return os.environ.get("LAB_CAPSTONE_SEED") or COURSE_SEED


@dataclass(frozen=True)
class Description:
    """What a target is: its seed, its flaws by endpoint, and its secrets (never shown to the
    learner by the target; the scorer and the hints read it)."""

    seed: int | str
    hardened: bool
    flaws: dict[str, str] = field(default_factory=dict)  # endpoint -> flaw id
    weak_secret: str = ""  # the word HS256 tokens are signed with, if "weak-secret" is drawn
    first_session: int = 1000  # where a session counter starts, if "predictable-session" is

    def as_dict(self) -> dict:
        """The description as plain JSON-ready data."""
        return {
            "seed": self.seed,
            "hardened": self.hardened,
            "flaws": dict(self.flaws),
            "weak_secret": self.weak_secret,
            "first_session": self.first_session,
        }


def _check_seed(seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, str)):
        raise TypeError(f"a capstone seed is an int or a str, not {type(seed).__name__}")
    if isinstance(seed, str) and not seed.isascii():
        try:
            seed.encode()  # random.Random seeds from the UTF-8 bytes
        except UnicodeEncodeError:
            raise ValueError(
                f"a capstone seed must be UTF-8 text, and {seed[:40]!r} has a lone surrogate "
                "(as Python reads a non-UTF-8 byte of $LAB_CAPSTONE_SEED)"
            ) from None


def draw(
    seed: int | str,
    *,
    hardened: bool = False,
    flaws: dict[str, str] | None = None,
    count: int = FLAWS_PER_TARGET,
) -> Description:
    """The target for ``seed``: ``count`` flaws of the catalogue on distinct endpoints, drawn
    with ``random.Random``. ``hardened``: the same target with every flaw off. ``flaws``: put
    these flaws on these endpoints instead of drawing (for tests and instructors)."""
    _check_seed(seed)
    rng = random.Random(f"capstone:{type(seed).__name__}:{seed}")
    ids = [f.id for f in CATALOGUE]
    rng.shuffle(ids)
    drawn: dict[str, str] = {}
    for flaw_id in ids:
        free = [p for p in FLAWS[flaw_id].places if p not in drawn]
        if free and len(drawn) < count:
            drawn[rng.choice(free)] = flaw_id
    from ..experiments.attacks import words

    weak_secret = rng.choice(words())
    first_session = rng.randrange(1000, 9000)
    if flaws is not None:
        for place, flaw_id in flaws.items():
            if place not in PLACES or flaw_id not in FLAWS or place not in FLAWS[flaw_id].places:
                raise ValueError(f"the flaw {flaw_id!r} cannot sit on {place!r}")
        drawn = dict(flaws)
    ordered = {p: drawn[p] for p in PLACES if p in drawn and not hardened}
    return Description(seed, hardened, ordered, weak_secret, first_session)


class CapstoneTarget:
    """A running capstone target (``lab.capstone``): the :class:`~labserver.lab.Lab` of its app
    (``url``, ``http``, ``client()``, ``request_log``, ``crashes``...), and the course's tools
    for it: :meth:`score` and :meth:`hint`."""

    def __init__(self, lab) -> None:
        from .hints import Hints

        self.lab = lab
        self._hints = Hints(self.description)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.lab, name)

    @property
    def description(self) -> Description:
        """What this target is (its flaws: do not peek, the scorer reads it)."""
        return self.lab.app.extensions["capstone"].description

    @property
    def hardened(self) -> bool:
        return self.description.hardened

    @property
    def seed(self) -> int | str:
        return self.description.seed

    def facts(self) -> dict:
        """What the scorer needs from the running app (victim, issued tokens): see
        :mod:`labserver.chapters.capstone`."""
        return self.lab.app.extensions["capstone"].facts()

    def score(self, findings):
        """Replay ``findings`` (a list of :class:`~labserver.capstone.scoring.Finding`, or a
        function ``findings(target)`` that returns one) against this target: a
        :class:`~labserver.capstone.scoring.ScoreReport`, which shows line by line."""
        from .scoring import score

        return score(findings, self)

    def hint(self) -> str:
        """The next hint (each call unlocks one more; the score report counts them)."""
        return self._hints.next()

    @property
    def hints_used(self) -> int:
        return self._hints.used

    def hint_button(self):
        """An ipywidgets button that shows the next hint when clicked."""
        return self._hints.button()

    def stop(self) -> None:
        self.lab.stop()

    def __repr__(self) -> str:
        build = "hardened build" if self.hardened else f"{FLAWS_PER_TARGET} flaws hidden"
        state = "running" if self.lab.running else "stopped"
        return f"<Capstone target {state} at {self.lab.url} · seed {self.seed!r} · {build}>"


def start_capstone(
    seed: int | str,
    *,
    hardened: bool = False,
    store=None,
    clock=None,
    flaws: dict[str, str] | None = None,
) -> CapstoneTarget:
    """Start the capstone app for ``seed`` on its own loopback port (sharing ``store`` and
    ``clock`` if given) and return its handle. It is stopped with ``.stop()``."""
    from ..lab import start_lab

    _check_seed(seed)
    config = {
        "APP_ROLE": "capstone",
        "SERVICE_NAME": "capstone",
        "SEED_DEMO_USERS": False,
        "CAPSTONE_SEED": seed,
        "CAPSTONE_HARDENED": hardened,
        "CAPSTONE_FLAWS": flaws,
    }
    shared = {"store": store} if store is not None else {"redis_url": ""}
    return CapstoneTarget(start_lab(config, clock=clock, replace=False, **shared))
