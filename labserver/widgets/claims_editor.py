"""The claims editor: edit a token's claims, sign it, and ask the lab's API for its verdict.

Every control is an ipywidget whose ``.value`` a test (or a notebook cell) can set; the buttons
are real ``Button``\\ s whose ``.click()`` runs the same code a learner's click does. The token is
built in plain Python (:meth:`ClaimsEditor.token`), and the verdict is the lab's real answer over
HTTP, so the request log shows what was sent.
"""

from __future__ import annotations

import html
import json

import ipywidgets as widgets
from jwt.utils import base64url_decode

from ..access_tokens import access_token_claims
from ..forge import SIGNERS, mint, tamper
from ..keys import ALGORITHMS

# The colours jwt.io made familiar: header, payload, signature.
COLOURS = ("#fb015b", "#d63aff", "#00b9f1")
WIDE = widgets.Layout(width="430px")


class ClaimsEditor:
    """A form for one access token, the token it makes, and the lab's verdict on it."""

    def __init__(self, lab, user: str = "alice") -> None:
        self.lab = lab
        config = lab.app.config
        self.sub = widgets.Text(value=user, description="sub", layout=WIDE)
        self.roles = widgets.Text(
            value="user", description="roles", placeholder="comma-separated", layout=WIDE
        )
        self.iss = widgets.Text(value=config["TOKEN_ISSUER"], description="iss", layout=WIDE)
        self.aud = widgets.Text(value=config["TOKEN_AUDIENCE"], description="aud", layout=WIDE)
        self.expires_in = widgets.IntSlider(
            value=5,
            min=-10,
            max=60,
            description="exp in (min)",
            continuous_update=False,
            layout=WIDE,
            style={"description_width": "initial"},
        )
        self.nbf_in = widgets.IntSlider(
            value=0,
            min=-10,
            max=10,
            description="nbf in (min)",
            continuous_update=False,
            layout=WIDE,
            style={"description_width": "initial"},
        )
        self.alg = widgets.Dropdown(
            options=[*ALGORITHMS, "none"], value="ES256", description="alg", layout=WIDE
        )
        self.signer = widgets.Dropdown(
            options=[(text, name) for name, text in SIGNERS.items()],
            value="lab",
            description="signed by",
            layout=WIDE,
        )
        self.verify_button = widgets.Button(
            description="Verify with the lab",
            button_style="primary",
            icon="check",
            layout=widgets.Layout(width="auto"),
        )
        self.tamper_button = widgets.Button(
            description="Tamper: make me admin",
            button_style="warning",
            tooltip="change the payload, keep the old signature",
            layout=widgets.Layout(width="auto"),
        )
        self.encoded = widgets.HTML()
        self.decoded = widgets.HTML()
        self.verdict = widgets.HTML()
        self._token = ""
        self._tampered = False

        for control in (
            self.sub,
            self.roles,
            self.iss,
            self.aud,
            self.expires_in,
            self.nbf_in,
            self.alg,
            self.signer,
        ):
            control.observe(self.rebuild, names="value")
        self.verify_button.on_click(lambda _: self.verify())
        self.tamper_button.on_click(lambda _: self.tamper())
        self.box = widgets.VBox(
            [
                widgets.HBox([self.sub, self.roles]),
                widgets.HBox([self.iss, self.aud]),
                widgets.HBox([self.expires_in, self.nbf_in]),
                widgets.HBox([self.alg, self.signer]),
                widgets.HTML("<b>Encoded</b> (header · payload · signature)"),
                self.encoded,
                widgets.HTML("<b>Decoded</b> (anyone can read this; it proves nothing)"),
                self.decoded,
                widgets.HBox([self.verify_button, self.tamper_button]),
                self.verdict,
            ]
        )
        self.rebuild()

    # --- the token ---

    def claims(self) -> dict:
        """The claims the form describes, issued at the lab clock's now."""
        now = self.lab.clock.now()
        roles = [r.strip() for r in self.roles.value.split(",") if r.strip()]
        claims = access_token_claims(
            self.sub.value,
            issuer=self.iss.value,
            audience=self.aud.value,
            now=now,
            lifetime=self.expires_in.value * 60,
            client_id=self.lab.app.config["TOKEN_CLIENT_ID"],
            extra={"roles": roles},
        )
        claims["nbf"] = int(now) + self.nbf_in.value * 60
        return claims

    def token(self) -> str:
        """The token as it stands: freshly signed from the form, or tampered with."""
        return self._token

    def rebuild(self, change: dict | None = None) -> None:
        """Sign a new token from the form and show it (any tampering is undone)."""
        self._token = mint(
            self.lab.keys, self.claims(), alg=self.alg.value, signer=self.signer.value
        )
        self._tampered = False
        self._show("press <i>Verify with the lab</i> to ask the API")

    def tamper(self) -> str:
        """Make the payload say ``roles: ["admin"]`` but keep the old signature."""
        self._token = tamper(self._token, roles=["admin"])
        self._tampered = True
        self._show("the payload now says admin, under the signature of the old payload")
        return self._token

    def _show(self, verdict_hint: str) -> None:
        parts = self._token.split(".")
        self.encoded.value = (
            '<code style="word-break: break-all; font-size: 12px">'
            + ".".join(
                f'<span style="color:{c}">{html.escape(p)}</span>'
                for p, c in zip(parts, COLOURS, strict=False)
            )
            + "</code>"
        )
        header, payload = (json.loads(base64url_decode(p)) for p in parts[:2])
        self.decoded.value = (
            f'<pre style="margin:0; color:{COLOURS[0]}">{_shown_json(header)}</pre>'
            f'<pre style="margin:0; color:{COLOURS[1]}">{_shown_json(payload)}</pre>'
            f"<small>{len(self._token.encode())} bytes"
            f"{'; tampered' if self._tampered else ''}</small>"
        )
        self.verdict.value = f"<i>{verdict_hint}</i>"

    # --- the lab's verdict ---

    def verify(self) -> str:
        """Send the token to the lab's API (``GET /api/me``); show and return its verdict.

        The form describes a token issued *now*: unless it was tampered with, the token is
        signed afresh at the lab clock's current time first, so the form's "exp in" and
        "nbf in" always count from the moment of verifying.
        """
        if not self._tampered:
            self.rebuild()
        response = self.lab.http.get("/api/me", headers={"Authorization": f"Bearer {self._token}"})
        body = response.json()
        if response.status_code == 200:
            text = f"✓ {response.status_code} accepted: sub {body['sub']!r}, roles {body['roles']}"
            colour = "green"
        else:
            text = f"✗ {response.status_code} {body['error']}: {body['error_description']}"
            colour = "crimson"
        self.verdict.value = f'<b style="color:{colour}">{html.escape(text)}</b>'
        return text

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.box._repr_mimebundle_(**kwargs)
        # What shows where widgets cannot render (a code host, a bare terminal); stable for nbval.
        bundle["text/plain"] = (
            "ClaimsEditor (an interactive form: run this notebook in JupyterLab to use it)"
        )
        return bundle


def _shown_json(value) -> str:
    """``value`` as indented JSON, escaped for HTML."""
    return html.escape(json.dumps(value, indent=1))
