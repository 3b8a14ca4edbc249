"""Chapter 11's capstone: a black-box target whose flaws are drawn from a seed.

* :mod:`.catalogue`: every flaw it can carry (id, title, anchor lab, hints, behaviour);
* :mod:`.target`: ``draw(seed)``, the description of a target, and ``lab.capstone``'s handle;
* :mod:`.scoring`: ``Finding``, ``Request`` and ``score(findings, target)``;
* :mod:`.hints`: the hints, one at a time.

Its HTTP side is :mod:`labserver.chapters.capstone`.
"""

from .catalogue import CATALOGUE, FLAWS, PLACES, Flaw
from .scoring import Finding, Request, ScoreReport, score
from .target import COURSE_SEED, CapstoneTarget, Description, class_seed, draw, start_capstone

__all__ = [
    "CATALOGUE",
    "COURSE_SEED",
    "FLAWS",
    "PLACES",
    "CapstoneTarget",
    "Description",
    "Finding",
    "Flaw",
    "Request",
    "ScoreReport",
    "class_seed",
    "draw",
    "score",
    "start_capstone",
]
