"""Uploaded files: streamed to disk, size-limited, typed by their content, stored by generated name.

``receive_upload`` reads a ``multipart/form-data`` body chunk by chunk (python-multipart's
streaming parser), writes the part named ``file`` straight to a temporary file under the data
dir while counting and hashing it, and stops with 413 as soon as 20 MiB are passed: a body is
never held in memory. The type is then judged from the bytes (puremagic), never from the name
or the header, and checked against the allowlist of PROTOCOL.md §3. ZIP containers are opened
to tell DOCX and XLSX from a plain ZIP; OLE2 containers (XLS) must hold a workbook stream
(olefile). A renamed executable, an MSI or a Word 97 file is ``unsupported_type`` (415).

Resource handling: the temporary file is removed on every failure; on success it is renamed
to its generated name (the attachment id) and the caller stores the row.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import unicodedata
import uuid
import zipfile
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path

import olefile
import puremagic
import trio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from frontdesk.core.errors import ProtocolError
from frontdesk.core.filenames import sanitize_filename

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# multipart framing around the file: boundaries and part headers
MULTIPART_OVERHEAD_BYTES = 64 * 1024
SNIFF_BYTES = 8192

PDF = "application/pdf"
ZIP = "application/zip"
JPEG = "image/jpeg"
PNG = "image/png"
GIF = "image/gif"
TEXT = "text/plain"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"
ALLOWED_TYPES = frozenset({PDF, ZIP, JPEG, PNG, GIF, TEXT, DOCX, XLSX, XLS})

_MAGIC_PREFIXES = (
    (b"%PDF-", PDF),
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
)
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass(frozen=True)
class Upload:
    attachment_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    path: Path


def sniff(path: Path) -> str | None:
    """The allowed content type of the file at ``path`` judged by its bytes, or None."""
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head:
        return None
    if head.startswith(_ZIP_MAGIC):
        return _zip_kind(path)
    if head.startswith(_OLE2_MAGIC):
        return _ole2_kind(path)
    for prefix, kind in _MAGIC_PREFIXES:
        if head.startswith(prefix):
            return kind
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        matches = []
    if matches:
        # a known binary format that is not on the allowlist (executables among them)
        best = max(matches, key=lambda m: m.confidence)
        if best.mime_type in ALLOWED_TYPES and best.confidence >= 0.8:
            return str(best.mime_type)
        if best.confidence >= 0.4 and not _is_text(head):
            return None
    return TEXT if _is_text(head) and _is_text_file(path) else None


def _is_text(chunk: bytes) -> bool:
    # a UTF-8 cut in the middle of a character at the end of the chunk is fine
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(chunk) - 3:
            return False
        text = chunk[: exc.start].decode("utf-8")
    return not any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f" for ch in text)


def _is_text_file(path: Path) -> bool:
    # incremental: a character cut by a block boundary is completed by the next block
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
            if not _is_text(text.encode("utf-8")):
                return False
    return True


def _zip_kind(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):  # unreadable: refused
        return None
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
    return ZIP


def _ole2_kind(path: Path) -> str | None:
    try:
        with olefile.OleFileIO(str(path)) as ole:
            if ole.exists("Workbook") or ole.exists("Book"):
                return XLS
    except (OSError, ValueError):
        return None
    return None


class _FileSink:
    """Receives the bytes of the ``file`` part: counts, hashes, writes; ignores other parts."""

    def __init__(self, path: Path):
        self.path = path
        self.file = path.open("wb")
        self.size = 0
        self.sha = hashlib.sha256()
        self.filename: str | None = None
        self.found = False
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._in_file = False
        self.too_large = False

    def callbacks(self) -> dict[str, object]:
        return {"on_part_begin": self._part_begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
                "on_part_end": self._part_end}

    def _part_begin(self) -> None:
        self._headers = {}
        self._in_file = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if disposition == b"form-data" and params.get(b"name") == b"file" and not self.found:
            self._in_file = True
            self.found = True
            raw = params.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file or self.too_large:
            return
        chunk = data[start:end]
        self.size += len(chunk)
        if self.size > MAX_UPLOAD_BYTES:
            self.too_large = True
            return
        self.sha.update(chunk)
        self.file.write(chunk)

    def _part_end(self) -> None:
        self._in_file = False


async def receive_upload(body: AsyncIterable[bytes], content_type: str | None, content_length: int | None,
                         uploads_dir: Path) -> Upload:
    """Stream a multipart body into ``uploads_dir``; raise ProtocolError (413, 415, 422) when refused."""
    if content_length is not None and content_length > MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES:
        raise ProtocolError("file_too_large", f"a file may have at most {MAX_UPLOAD_BYTES} bytes", field="file")
    mime, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise ProtocolError("invalid_value", "send multipart/form-data with a part named file", field="file")
    attachment_id = str(uuid.uuid4())
    tmp = uploads_dir / f".{attachment_id}.part"
    sink = _FileSink(tmp)
    try:
        parser = MultipartParser(boundary, sink.callbacks())  # type: ignore[arg-type]
        async for chunk in body:
            parser.write(chunk)
            if sink.too_large:
                raise ProtocolError("file_too_large", f"a file may have at most {MAX_UPLOAD_BYTES} bytes",
                                    field="file")
        parser.finalize()
        sink.file.close()
        if not sink.found:
            raise ProtocolError("missing_field", "the multipart body has no part named file", field="file")
        if sink.size == 0:
            raise ProtocolError("invalid_value", "the file is empty", field="file")
        kind = await trio.to_thread.run_sync(sniff, tmp)
        if kind is None or kind not in ALLOWED_TYPES:
            raise ProtocolError("unsupported_type", "this type of file is not accepted "
                                "(PDF, ZIP, JPEG, PNG, GIF, text, DOCX, XLSX, XLS)", field="file")
        final = uploads_dir / attachment_id
        os.replace(tmp, final)
    except MultipartParseError as exc:
        sink.file.close()
        tmp.unlink(missing_ok=True)
        raise ProtocolError("invalid_value", f"malformed multipart body: {exc}", field="file") from exc
    except BaseException:
        sink.file.close()
        tmp.unlink(missing_ok=True)
        raise
    return Upload(attachment_id, sanitize_filename(sink.filename), kind, sink.size, sink.sha.hexdigest(), final)
