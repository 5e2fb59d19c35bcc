"""The QR code of a sign-in link, as a PNG a mail carries inline.

``segno`` makes it: a small, maintained pure-Python encoder (no imaging library needed) that picks
the smallest symbol and error correction for the text.
"""

from __future__ import annotations

import io

import segno

# The name the HTML part uses for the image (``<img src="cid:…">``); unique within one mail.
QR_CONTENT_ID = "signin-qr@frontdesk"
# Pixels per module: a version-5 symbol of a typical link comes out about 200 px wide with its quiet
# zone, which phones read from a screen at arm's length.
QR_SCALE = 5


def qr_png(text: str) -> bytes:
    """The PNG of a QR code that holds ``text``."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=QR_SCALE, border=4)
    return out.getvalue()
