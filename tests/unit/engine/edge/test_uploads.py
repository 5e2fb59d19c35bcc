"""Upload typing by content (``uploads.sniff``), without a server.

Every sample is built here from the bytes its format prescribes; the name a file carries never
matters (a Windows executable called ``invoice.pdf`` is refused).
"""

from __future__ import annotations

import random
import struct
import zipfile
import zlib
from pathlib import Path

import olefile
import pytest

from frontdesk.engine.edge.uploads import (
    DOCX,
    GIF,
    JPEG,
    PDF,
    PNG,
    TEXT,
    XLS,
    XLSX,
    ZIP,
    sniff,
)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def png_bytes() -> bytes:
    """A real 1x1 RGB PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


JPEG_BYTES = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
              + b"\xff\xdb\x00\x43\x00" + bytes(64) + b"\xff\xd9")
GIF_BYTES = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00" \
            b"\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
PDF_BYTES = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
             b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def office_zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():
            z.writestr(name, text)
    return path


CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                 'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
                 '<Override PartName="{part}" ContentType="{type}"/></Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="{target}"/></Relationships>')


def docx(path: Path) -> Path:
    return office_zip(path, {
        "[Content_Types].xml": CONTENT_TYPES.format(
            part="/word/document.xml",
            type="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
        "_rels/.rels": RELS.format(target="word/document.xml"),
        "word/document.xml": '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                             'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Hallo</w:t></w:r></w:p>'
                             '</w:body></w:document>',
    })


def xlsx(path: Path) -> Path:
    return office_zip(path, {
        "[Content_Types].xml": CONTENT_TYPES.format(
            part="/xl/workbook.xml",
            type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
        "_rels/.rels": RELS.format(target="xl/workbook.xml"),
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
                           'spreadsheetml/2006/main"><sheets/></workbook>',
    })


# ---- a minimal OLE2 compound file (MS-CFB version 3), written with the stdlib ---------------

FREESECT, ENDOFCHAIN, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
SECTOR = 512


def _dir_entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
    if not name:
        return bytes(64) + struct.pack("<HBBIII", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM) + bytes(36) \
            + struct.pack("<IQ", 0, 0)
    raw = (name + "\0").encode("utf-16-le")
    return (raw.ljust(64, b"\0") + struct.pack("<HBBIII", len(raw), kind, 1, NOSTREAM, NOSTREAM, child)
            + bytes(16) + bytes(4) + bytes(16) + struct.pack("<IQ", start, size))


def ole2(stream_name: str, payload: bytes) -> bytes:
    """A compound file whose root storage holds one stream ``stream_name`` (>= 4096 bytes, so it
    lives in regular sectors and needs no mini stream). Sector 0 is the FAT, sector 1 the
    directory, sectors 2.. the stream."""
    payload = payload.ljust(4096, b"\0")
    payload += bytes(-len(payload) % SECTOR)
    n = len(payload) // SECTOR
    fat = [FATSECT, ENDOFCHAIN] + [2 + i + 1 for i in range(n - 1)] + [ENDOFCHAIN]
    fat += [FREESECT] * (SECTOR // 4 - len(fat))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
              + struct.pack("<109I", 0, *([FREESECT] * 108)))
    directory = (_dir_entry("Root Entry", 5, 1, ENDOFCHAIN, 0) + _dir_entry(stream_name, 2, NOSTREAM, 2, 4096)
                 + _dir_entry("", 0, 0, 0, 0) * 2)
    assert len(header) == SECTOR and len(directory) == SECTOR
    return header + struct.pack(f"<{SECTOR // 4}I", *fat) + directory + payload


# a BIFF8 BOF record (workbook globals) as the first record of the Workbook stream
BIFF8_BOF = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 6)


# ---- accepted types ------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "data", "expected"), [
    ("doc.pdf", PDF_BYTES, PDF),
    ("pixel.png", png_bytes(), PNG),
    ("photo.jpg", JPEG_BYTES, JPEG),
    ("anim.gif", GIF_BYTES, GIF),
    ("notes.txt", "Grüße aus München – Größe: 3 m²\nZeile zwei\n".encode(), TEXT),
    ("ascii", b"just some plain words\r\nand a second line\twith a tab\n", TEXT),
])
def test_sniff_recognises_allowed_formats_by_their_bytes(tmp_path: Path, name: str, data: bytes,
                                                         expected: str) -> None:
    assert sniff(write(tmp_path, name, data)) == expected


def test_long_utf8_text_is_text_wherever_its_multibyte_characters_fall(tmp_path: Path) -> None:
    # the file is read in 64 KiB blocks: with one ASCII letter first, an "ä" (2 bytes) straddles
    # every block boundary
    for prefix in ("", "a"):
        path = write(tmp_path, f"long{prefix}.txt", (prefix + "Größe ä ü ö ß " * 12_000 + "\n").encode())
        assert path.stat().st_size > 3 * 65536
        assert sniff(path) == TEXT, prefix
    path = write(tmp_path, "straddle.txt", ("a" + "ä" * 40_000 + "\n").encode())
    assert sniff(path) == TEXT


def test_text_that_merely_starts_like_an_executable_is_still_text(tmp_path: Path) -> None:
    assert sniff(write(tmp_path, "note.txt", b"MZ is where this plain note starts\n")) == TEXT
    assert sniff(write(tmp_path, "bom.txt", "\ufeffText with a byte order mark\n".encode())) == TEXT


def test_sniff_ignores_the_file_name(tmp_path: Path) -> None:
    assert sniff(write(tmp_path, "picture.pdf", png_bytes())) == PNG
    assert sniff(write(tmp_path, "report.png", PDF_BYTES)) == PDF


def test_a_plain_zip_is_zip(tmp_path: Path) -> None:
    path = office_zip(tmp_path / "bundle.zip", {"readme.txt": "hello", "data/values.csv": "1,2,3"})
    assert sniff(path) == ZIP


def test_docx_and_xlsx_are_told_apart_from_a_plain_zip(tmp_path: Path) -> None:
    assert sniff(docx(tmp_path / "letter.docx")) == DOCX
    assert sniff(xlsx(tmp_path / "sheet.xlsx")) == XLSX
    # the members decide, not the extension
    assert sniff(docx(tmp_path / "renamed.zip")) == DOCX
    # an Office name without the Office members is just a ZIP
    fake = office_zip(tmp_path / "fake.docx", {"word/document.xml": "<w:document/>"})
    assert sniff(fake) == ZIP


def test_a_zip_that_zipfile_cannot_read_is_refused_not_a_crash(tmp_path: Path) -> None:
    path = docx(tmp_path / "letter.docx")
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 6: central + 8] = struct.pack("<H", 200)   # "version needed to extract": 20.0
    assert sniff(write(tmp_path, "odd.docx", bytes(data))) is None
    assert sniff(write(tmp_path, "cut.zip", path.read_bytes()[:40])) is None


def test_an_ole2_file_with_a_workbook_stream_is_xls(tmp_path: Path) -> None:
    assert sniff(write(tmp_path, "legacy.xls", ole2("Workbook", BIFF8_BOF))) == XLS


def test_an_ole2_file_without_a_workbook_stream_is_refused(tmp_path: Path) -> None:
    # a Word 97 document (or an MSI) is OLE2 too, but not on the allowlist
    path = write(tmp_path, "letter.xls", ole2("WordDocument", b"\xec\xa5\xc1\x00"))
    with olefile.OleFileIO(str(path)) as ole:  # a well-formed container: refused for what it holds
        assert ole.listdir() == [["WordDocument"]]
    assert sniff(path) is None


def test_a_truncated_ole2_file_is_refused(tmp_path: Path) -> None:
    assert sniff(write(tmp_path, "broken.xls", ole2("Workbook", BIFF8_BOF)[:700])) is None


# ---- refused content -----------------------------------------------------------------------

def pe_executable() -> bytes:
    """DOS header with e_lfanew -> "PE\\0\\0" and a COFF header (x86-64)."""
    dos = bytearray(b"MZ" + bytes(0x3E))
    dos[0x3C:0x40] = struct.pack("<I", 0x80)
    dos += b"This program cannot be run in DOS mode.\r\r\n$".ljust(0x80 - len(dos), b"\0")
    return bytes(dos) + b"PE\0\0" + struct.pack("<HHIIIHH", 0x8664, 1, 0, 0, 0, 0xF0, 0x22) + bytes(400)


def elf_executable() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + bytes(8) + struct.pack("<HHI", 2, 0x3E, 1) + bytes(200)


@pytest.mark.parametrize(("name", "data"), [
    ("invoice.pdf", pe_executable()),
    ("setup.exe", pe_executable()),
    ("photo.png", elf_executable()),
    ("noise.txt", random.Random(7).randbytes(4096)),
    ("empty.txt", b""),
    ("nul.txt", b"looks like text\x00\x00\x01\x02 but is not"),
    ("latin1.txt", "Grüße".encode("latin-1") + b"\x00\x81\x82"),
])
def test_sniff_refuses_executables_binary_noise_and_empty_files(tmp_path: Path, name: str, data: bytes) -> None:
    assert sniff(write(tmp_path, name, data)) is None


def test_a_text_file_with_binary_bytes_after_the_first_block_is_refused(tmp_path: Path) -> None:
    data = b"harmless line\n" * 1000 + b"\x00\x01\x02\x03" * 100
    assert len(data) > 8192
    assert sniff(write(tmp_path, "sneaky.txt", data)) is None
