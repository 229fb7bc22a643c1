"""Enrolling an authenticator app: the QR code and the secret as text (pure functions).

The QR code is an SVG made on the server (``qrcode``; no JavaScript, no CDN, NFR-4) and
served as a ``data:`` image, which the Content-Security-Policy allows (img-src data:).
"""

from __future__ import annotations

import base64

import qrcode
from qrcode.image.svg import SvgPathFillImage


def qr_data_uri(text: str) -> str:
    """A ``data:image/svg+xml`` URI of the QR code of ``text``."""
    image = qrcode.make(text, image_factory=SvgPathFillImage, box_size=8, border=4)
    svg = image.to_string(encoding="unicode").encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def secret_text(key: bytes) -> str:
    """The base32 secret in groups of four, for typing it into an app by hand."""
    secret = base64.b32encode(key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
