"""Reading the QR codes the engine draws, as a phone's camera would: with zxing-cpp, a decoder
unrelated to the encoder the engine uses."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image


def read_qr(png: bytes) -> list[str]:
    """The texts a QR reader finds in ``png``."""
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
