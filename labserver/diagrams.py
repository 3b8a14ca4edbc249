"""Pictures for the notebooks, drawn as SVG text: they render offline, and on a code host too."""

from __future__ import annotations

from html import escape


def _box(x: int, y: int, w: int, h: int, title: str, lines: list[str], colour: str) -> str:
    text = [f'<text x="{x + w // 2}" y="{y + 24}" class="title">{escape(title)}</text>']
    text += [
        f'<text x="{x + w // 2}" y="{y + 46 + 17 * i}" class="small">{escape(line)}</text>'
        for i, line in enumerate(lines)
    ]
    return (
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="{colour}" stroke="#444"/>'
        + "".join(text)
    )


def _arrow(x1: int, y1: int, x2: int, y2: int, label: list[str], dy: int = -8, dx: int = 0) -> str:
    mx, my = (x1 + x2) // 2 + dx, (y1 + y2) // 2
    text = "".join(
        f'<text x="{mx}" y="{my + dy + 15 * i}" class="label">{escape(line)}</text>'
        for i, line in enumerate(label)
    )
    return (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333" stroke-width="1.6" '
        f'marker-end="url(#head)" marker-start="url(#tail)"/>{text}'
    )


def bff_architecture_svg() -> str:
    """The backend-for-frontend pattern: which credential travels on which hop."""
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="860" height="330" viewBox="0 0 860 330" '
        'font-family="sans-serif">',
        "<defs>"
        '<marker id="head" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto">'
        '<path d="M0,0 L10,4 L0,8 z" fill="#333"/></marker>'
        '<marker id="tail" markerWidth="10" markerHeight="8" refX="1" refY="4" orient="auto">'
        '<path d="M10,0 L0,4 L10,8 z" fill="#333"/></marker>'
        "<style>.title{font-size:15px;font-weight:bold;text-anchor:middle}"
        ".small{font-size:12px;text-anchor:middle;fill:#333}"
        ".label{font-size:12px;text-anchor:middle;fill:#8a1c1c}</style></defs>",
        _box(
            10,
            100,
            180,
            110,
            "Browser",
            ["the page's script", "holds: a cookie it", "cannot read"],
            "#eef5ff",
        ),
        _box(
            330,
            100,
            200,
            110,
            "BFF (/bff)",
            ["same origin as the page", "holds: session, refresh", "and access tokens"],
            "#fff4e0",
        ),
        _box(
            670, 20, 180, 100, "API (/api)", ["stateless: checks", "the JWT, no store"], "#eaf7ea"
        ),
        _box(
            670,
            200,
            180,
            100,
            "Token issuer",
            ["/oauth/token", "refresh → access token"],
            "#f3ecfb",
        ),
        _box(330, 250, 200, 70, "Store", ["sessions, refresh families"], "#f2f2f2"),
        _arrow(192, 155, 326, 155, ["cookie (HttpOnly, SameSite)", "+ X-CSRF: 1"], dy=-22),
        _arrow(532, 130, 666, 75, ["Authorization: Bearer", "JWT, 5 min"], dy=-22, dx=-30),
        _arrow(532, 180, 666, 245, ["refresh token"], dy=20),
        _arrow(430, 212, 430, 246, ["session lookup"], dy=4, dx=52),
        "</svg>",
    ]
    return "".join(parts)


def bff_architecture():
    """The BFF diagram as an IPython SVG object (a notebook displays it)."""
    from IPython.display import SVG

    return SVG(bff_architecture_svg())


def sequence_svg(entries, participants: list[str] | None = None, title: str = "") -> str:
    """A sequence diagram of ``entries`` (request-log entries, e.g. from
    :func:`labserver.federation.federation_log`): one lifeline per party, one arrow per request
    from its caller (the client's User-Agent) to the service that answered, labelled with the
    method, the path (without its query) and the status. Drawn from the run just made."""
    rows = [(e.agent or "client", e.service, e) for e in entries]
    names = list(participants or [])
    for caller, callee, _ in rows:
        for name in (caller, callee):
            if name not in names:
                names.append(name)
    gap, top, step = 170, 56, 34
    width, height = gap * len(names) + 20, top + step * len(rows) + 40
    x = {name: 20 + gap * i + gap // 2 for i, name in enumerate(names)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
        '<defs><marker id="seqhead" markerWidth="10" markerHeight="8" refX="9" refY="4" '
        'orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#333"/></marker>'
        "<style>.who{font-size:13px;font-weight:bold;text-anchor:middle}"
        ".hop{font-size:11px;text-anchor:middle;fill:#222}.bad{fill:#a00}</style></defs>",
    ]
    if title:
        parts.append(f'<text x="10" y="16" font-size="13">{escape(title)}</text>')
    for name, cx in x.items():
        parts.append(
            f'<rect x="{cx - 70}" y="24" width="140" height="24" rx="5" fill="#eef5ff" '
            f'stroke="#444"/><text x="{cx}" y="41" class="who">{escape(name)}</text>'
            f'<line x1="{cx}" y1="48" x2="{cx}" y2="{height - 10}" stroke="#999" '
            'stroke-dasharray="4 3"/>'
        )
    for i, (caller, callee, e) in enumerate(rows):
        y = top + step * (i + 1)
        x1, x2 = x[caller], x[callee]
        if x1 == x2:
            x2 = x1 + 40
        label = f"{e.method} {e.path.split('?', 1)[0]} → {e.status}"
        css = "hop bad" if e.status >= 400 else "hop"
        parts.append(
            f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="#333" stroke-width="1.4" '
            f'marker-end="url(#seqhead)"/>'
            f'<text x="{(x1 + x2) // 2}" y="{y - 5}" class="{css}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def sequence(entries, participants: list[str] | None = None, title: str = ""):
    """:func:`sequence_svg` as an IPython SVG object (a notebook displays it)."""
    from IPython.display import SVG

    return SVG(sequence_svg(entries, participants, title))
