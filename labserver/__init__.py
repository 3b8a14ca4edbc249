"""The lab behind the course "JWT vs Sessions: a hands-on lab".

Everything a notebook imports comes from here::

    from labserver import start_lab, check, PASSWORDS
"""

__version__ = "0.1.0"

from .app import create_app  # noqa: E402
from .checking import check  # noqa: E402
from .clock import LabClock  # noqa: E402
from .lab import Lab, current_lab, start_lab  # noqa: E402
from .users import PASSWORDS  # noqa: E402

__all__ = [
    "Lab", "LabClock", "PASSWORDS", "check", "create_app", "current_lab", "start_lab",
    "__version__",
]
