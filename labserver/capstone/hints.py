"""Hints for a capstone target, unlocked one at a time.

First one vague hint per flaw, then one per flaw naming its endpoint and the idea, then the
near-recipes: each flaw's three hints come from :mod:`labserver.capstone.catalogue`. The
state is plain Python (how many are shown), which the score report reads.
"""

from __future__ import annotations

from .catalogue import FLAWS


class Hints:
    """The hints of one target, in the order they unlock."""

    def __init__(self, description) -> None:
        places = list(description.flaws.items())
        self._hints: list[str] = []
        for level in range(3):
            for number, (place, flaw_id) in enumerate(places, start=1):
                text = FLAWS[flaw_id].hints[level]
                where = f" · {place}" if level else ""
                self._hints.append(f"flaw {number} of {len(places)}{where}: {text}")
        self.used = 0

    @property
    def total(self) -> int:
        return len(self._hints)

    def next(self) -> str:
        """The next hint, and how many are left."""
        if not self._hints:
            return "This build has no flaws, so it has no hints."
        if self.used == self.total:
            return f"No more hints: all {self.total} are shown."
        self.used += 1
        return f"hint {self.used} of {self.total} · {self._hints[self.used - 1]}"

    def button(self):
        """A button that shows the next hint in the label under it (``.children``: both)."""
        import ipywidgets as widgets

        label = widgets.Label(value="")
        button = widgets.Button(description="Show the next hint")
        button.on_click(lambda _: setattr(label, "value", self.next()))
        return widgets.VBox([button, label])
