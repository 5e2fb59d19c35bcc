"""File names made safe to show and to send in a header (``core/filenames.py``)."""

from __future__ import annotations

import pytest

from frontdesk.core.filenames import MAX_FILENAME_CHARS, sanitize_filename


@pytest.mark.parametrize(("raw", "clean"), [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\win.ini", "win.ini"),
    ("C:\\Users\\cora\\report.docx", "report.docx"),
    ("a\x00b\x1fc.txt", "abc.txt"),
    ("bad\x7fname.txt", "badname.txt"),
    ("new\nline\r\t.txt", "newline.txt"),
    ("evil\u202etxt.exe", "eviltxt.exe"),           # right-to-left override (format character)
    ('in"voice<1>.pdf', "in_voice_1_.pdf"),
    ("a;b*c?|d:e.txt", "a_b_c__d_e.txt"),
    ("  .hidden. ", "hidden"),
    ("re\u0301sume\u0301.txt", "résumé.txt"),       # NFC-normalised
    ("Grüße.pdf", "Grüße.pdf"),
    ("", "file"),
    (None, "file"),
    ("../", "file"),
    ("....", "file"),
])
def test_sanitize_filename(raw: str | None, clean: str) -> None:
    assert sanitize_filename(raw) == clean


def test_sanitize_filename_shortens_long_names_but_keeps_the_extension() -> None:
    clean = sanitize_filename("x" * 300 + ".pdf")
    assert len(clean) == MAX_FILENAME_CHARS and clean.endswith(".pdf")
    assert len(sanitize_filename("y" * 400)) == MAX_FILENAME_CHARS
