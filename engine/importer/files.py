"""Attachment bytes on their way to the engine's uploads directory.

The engine keeps every file as ``<data dir>/uploads/<attachment id>`` (``edge/uploads.py``). While
the mails are read, each attachment is written once to a staging folder inside the uploads
directory, so a large mailbox is never held in memory; a stored message's attachments are then
renamed to their ids (the same file system: a rename, not a copy).

Resource handling: ``Staging`` is a context manager; on exit the staging folder goes with
whatever was not kept (attachments of messages imported before, skipped or given twice). A
process killed meanwhile leaves its hidden ``.import-*`` folder behind, which nothing reads.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path
from types import TracebackType


class Staging:
    def __init__(self, uploads_dir: Path):
        self.uploads_dir = uploads_dir
        self._dir = uploads_dir / f".import-{uuid.uuid4().hex}"
        self._count = 0

    def __enter__(self) -> Staging:
        self._dir.mkdir(parents=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def stash(self, data: bytes) -> tuple[Path, str]:
        """Write ``data`` to the staging folder; its path and SHA-256 (hex)."""
        self._count += 1
        path = self._dir / str(self._count)
        path.write_bytes(data)
        return path, hashlib.sha256(data).hexdigest()

    def keep(self, staged: Path, attachment_id: str) -> Path:
        """Move a staged file to where the engine serves the attachment ``attachment_id`` from."""
        final = self.uploads_dir / attachment_id
        os.replace(staged, final)
        return final
