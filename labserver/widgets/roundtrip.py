"""A slider the kernel answers: proof that JupyterLab's widget front end works."""

from __future__ import annotations

import ipywidgets as widgets


class WidgetRoundTrip:
    """A slider and a label; every move of the slider is answered by the kernel in the label.

    If the label follows the slider, the widget front end, the kernel and the link between them
    all work. If JupyterLab shows a line of text like ``VBox(children=...`` instead of a
    slider, the widget extension is missing.
    """

    def __init__(self, value: int = 3) -> None:
        self.slider = widgets.IntSlider(value=value, min=0, max=10, description="drag me")
        self.label = widgets.Label()
        self.slider.observe(self._answer, names="value")
        self._answer()
        self.box = widgets.VBox([self.slider, self.label])

    def _answer(self, change: dict | None = None) -> None:
        self.label.value = f"the kernel saw {self.slider.value}"

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.box._repr_mimebundle_(**kwargs)
        # What shows where widgets cannot render; stable for nbval.
        bundle["text/plain"] = (
            "WidgetRoundTrip: a slider and a label (if you read this text instead, "
            "the widget front end is not running here)"
        )
        return bundle
