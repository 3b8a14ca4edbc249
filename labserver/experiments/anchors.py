"""The academies' JWT labs, and the section of this course that runs each one.

PortSwigger's Web Security Academy (its 8 JWT labs), OWASP WebGoat (the JWT lesson's
assignments) and OWASP Juice Shop (its two JWT challenges) are where many people learn these
attacks. Each row names one of them and the notebook section whose cells run it here, against a
vulnerable endpoint and against the hardened lab; ``tests/test_anchors.py`` checks that every
section exists and that its outputs show both sides.

    >>> print(anchor_markdown(Path("notebooks")))
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Anchor:
    """One academy lab, and where the course runs it."""

    academy: str
    lab: str
    notebook: str  # chapter number, e.g. "09"
    section: str  # the section's title, after "## N · "
    attack: bool = True  # False for a lab that reads or quizzes rather than attacks


PORTSWIGGER = "PortSwigger"
WEBGOAT = "WebGoat"
JUICE_SHOP = "Juice Shop"

# PortSwigger's labs are named by what follows "JWT authentication bypass via" in their titles.
ANCHORS: tuple[Anchor, ...] = (
    Anchor(PORTSWIGGER, "unverified signature", "09",
           "The signature is never checked"),
    Anchor(PORTSWIGGER, "flawed signature verification", "09",
           "`alg: none`"),
    Anchor(PORTSWIGGER, "weak signing key", "09",
           "A weak HMAC secret, cracked offline"),
    Anchor(PORTSWIGGER, "jwk header injection", "09",
           "The key comes with the token (`jwk` header)"),
    Anchor(PORTSWIGGER, "jku header injection", "09",
           "The key set comes from the token's URL (`jku`)"),
    Anchor(PORTSWIGGER, "kid header path traversal", "09",
           "The `kid` is a file path"),
    Anchor(PORTSWIGGER, "algorithm confusion", "09",
           "Algorithm confusion: the RSA public key as an HMAC secret"),
    Anchor(PORTSWIGGER, "algorithm confusion with no exposed key",
           "09", "Algorithm confusion with no exposed key: the public key from two tokens"),
    Anchor(PORTSWIGGER, "JWT attacks topic: x5c header injection", "09",
           "A certificate chain in the token (`x5c`)"),
    Anchor(PORTSWIGGER, "JWT attacks topic: tokens leaking through URLs", "09",
           "A token in a URL leaks"),
    Anchor(WEBGOAT, "JWT decoding", "02", "Decode it by hand", attack=False),
    Anchor(WEBGOAT, "JWT signing (alg none tampering)", "09", "`alg: none`"),
    Anchor(WEBGOAT, "JWT libraries (the quiz: which calls verify)", "09",
           "Parse or verify? The library quiz", attack=False),
    Anchor(WEBGOAT, "JWT cracking (a weak key)", "09", "A weak HMAC secret, cracked offline"),
    Anchor(WEBGOAT, "Refreshing a token (the refresh token is not bound to its user)", "09",
           "A refresh token not bound to its user"),
    Anchor(WEBGOAT, "JWT jku header", "09", "The key set comes from the token's URL (`jku`)"),
    Anchor(WEBGOAT, "JWT kid header (the final challenge: SQL injection)", "09",
           "SQL in the `kid`: a key table"),
    Anchor(JUICE_SHOP, "Unsigned JWT", "09", "`alg: none`"),
    Anchor(JUICE_SHOP, "Forged Signed JWT", "09",
           "Algorithm confusion: the RSA public key as an HMAC secret"),
)  # fmt: skip


def section_numbers(notebook: Path) -> dict[str, int]:
    """The numbered sections of a notebook: {title: number} from its "## N · title" headings."""
    numbers = {}
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                match = re.match(r"## (\d+) · (.+)$", line)
                if match:
                    numbers[match[2].strip()] = int(match[1])
    return numbers


def anchor_markdown(notebooks: Path, anchors: tuple[Anchor, ...] = ANCHORS) -> str:
    """The anchors as the markdown table chapter 09 shows, with each section's number and link
    (``notebooks`` is the folder of the course's notebooks)."""
    from ..course import chapter

    rows = ["| Academy | Lab | Here |", "|---|---|---|"]
    for a in anchors:
        name = chapter(a.notebook).filename
        number = section_numbers(notebooks / name).get(a.section)
        where = f"§{number} {a.section}" if number else f"(missing) {a.section}"
        if a.notebook != "09":
            where = f"[chapter {a.notebook}]({name}) {where}"
        rows.append(f"| {a.academy} | {a.lab} | {where} |")
    return "\n".join(rows)
