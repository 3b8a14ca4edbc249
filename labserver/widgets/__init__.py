"""The course's widgets: classes whose state and logic are plain Python.

Each class builds its ipywidgets in ``__init__`` and reacts in ordinary methods, so a test can
set ``.value`` or call ``.click()`` without a browser; a notebook only displays the object.
"""

from .claims_editor import ClaimsEditor
from .roundtrip import WidgetRoundTrip
from .tools import CookieWidget, DecoderWidget, TimestampWidget

__all__ = ["ClaimsEditor", "CookieWidget", "DecoderWidget", "TimestampWidget", "WidgetRoundTrip"]
