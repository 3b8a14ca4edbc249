"""Widgets for the three debugging tools: paste something, read the report. Offline."""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..tools import cookies, decoder, timestamps

_WIDE = widgets.Layout(width="95%")


def _pre(text: str) -> str:
    return f'<pre style="white-space: pre-wrap; margin: 0">{html.escape(text)}</pre>'


class _Tool:
    """A text input and a report; the report follows the input as it changes."""

    placeholder = ""
    title = ""

    def __init__(self, value: str = "", now=None) -> None:
        self._now = now  # a callable giving "now" (e.g. lab.clock.now), or None for the wall clock
        self.input = widgets.Textarea(
            value=value, placeholder=self.placeholder, layout=_WIDE, rows=3, continuous_update=False
        )
        self.output = widgets.HTML()
        self.input.observe(self.update, names="value")
        self.box = widgets.VBox(
            [
                widgets.HTML(f"<b>{self.title}</b> (nothing leaves this notebook)"),
                self.input,
                self.output,
            ]
        )
        self.update()

    def now(self):
        return self._now() if self._now else None

    def report(self):  # pragma: no cover - each tool defines it
        raise NotImplementedError

    def update(self, change: dict | None = None) -> None:
        """Re-read the input and show the report."""
        self.output.value = (
            _pre(self.report().text()) if self.input.value.strip() else "<i>paste above</i>"
        )

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.box._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = (
            f"{type(self).__name__} (an interactive tool: run this notebook in JupyterLab)"
        )
        return bundle


class DecoderWidget(_Tool):
    """Paste a token (with or without ``Bearer``): header, claims, times and warnings."""

    placeholder = "eyJ... (a JWT, or a whole Authorization header)"
    title = "JWT decoder"

    def report(self):
        return decoder.decode(self.input.value, now=self.now())


class TimestampWidget(_Tool):
    """Paste epoch seconds, milliseconds or an ISO date: every form of that moment."""

    placeholder = "1700000000, 1700000000000 or 2026-11-27T21:33:05Z"
    title = "Timestamp converter"

    def report(self):
        return timestamps.convert(self.input.value, now=self.now())


class CookieWidget(_Tool):
    """Paste a Set-Cookie header; give the page's URL and the API's URL for the full checks."""

    placeholder = "Set-Cookie: session=...; Path=/; HttpOnly; SameSite=Lax"
    title = "Cookie inspector"

    def __init__(self, value: str = "", url: str = "", api_url: str = "") -> None:
        self.url = widgets.Text(
            value=url,
            description="set by",
            placeholder="https://app.example.com/login",
            layout=_WIDE,
        )
        self.api_url = widgets.Text(
            value=api_url,
            description="sent to",
            placeholder="https://app.example.com/api/me",
            layout=_WIDE,
        )
        super().__init__(value)
        for control in (self.url, self.api_url):
            control.observe(self.update, names="value")
        self.box.children = (*self.box.children[:2], self.url, self.api_url, self.output)

    def report(self):
        return cookies.inspect(
            self.input.value, url=self.url.value or None, api_url=self.api_url.value or None
        )
