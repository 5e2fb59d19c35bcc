"""File names as people gave them, made safe to show and to put in a ``Content-Disposition``
header: uploads (``engine/edge/uploads.py``) and attachments of imported mails use the same rule."""

from __future__ import annotations

import re
import unicodedata

MAX_FILENAME_CHARS = 150


def sanitize_filename(name: str | None) -> str:
    """A name safe to show and to put in a Content-Disposition header: no path, no controls."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"[\"<>:|?*;]", "_", name).strip(" .")
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_FILENAME_CHARS - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 \
            else name[:MAX_FILENAME_CHARS]
    return name or "file"
