"""What a path given to the import holds (``importer/sources.py``): an mbox, a Maildir with its
sub-folders, a single ``.eml``, a folder of them, or nothing readable."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

from frontdesk.engine.importer.sources import Source, open_sources


def mail(n: int) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "cora@example.com"
    m["Subject"] = f"mail {n}"
    m.set_content(f"text {n}")
    return m


def read(sources: list[Source]) -> list[tuple[str, str, bytes | OSError]]:
    out = []
    for source in sources:
        out += [(source.kind, origin, raw) for origin, raw in source.messages()]
        source.close()
    return out


def subjects(read_: list[tuple[str, str, bytes | OSError]]) -> list[str]:
    return [raw.split(b"Subject: ")[1].split(b"\n")[0].decode() for _, _, raw in read_ if isinstance(raw, bytes)]


def make_mbox(path: Path, *numbers: int) -> Path:
    box = mailbox.mbox(path)
    for n in numbers:
        box.add(mail(n))
    box.close()
    return path


def test_an_mbox_gives_each_message_numbered_in_its_order(tmp_path: Path) -> None:
    sources, unreadable = open_sources([str(make_mbox(tmp_path / "archive", 1, 2, 3))])
    assert unreadable == [] and [len(s) for s in sources] == [3]
    got = read(sources)
    assert [(kind, origin) for kind, origin, _ in got] == [("mbox", f"{tmp_path}/archive:{n}") for n in (1, 2, 3)]
    assert subjects(got) == ["mail 1", "mail 2", "mail 3"]


def test_a_file_that_is_no_mbox_is_one_message(tmp_path: Path) -> None:
    path = tmp_path / "one.eml"
    path.write_bytes(mail(1).as_bytes())
    sources, _ = open_sources([str(path)])
    assert [(kind, origin) for kind, origin, _ in read(sources)] == [("eml", str(path))]


def test_a_maildir_gives_its_messages_and_those_of_its_sub_folders(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(mail(1))
    sent = box.add_folder("Sent")
    sent.add(mail(2))
    box.close()
    sources, unreadable = open_sources([str(tmp_path / "Maildir")])
    assert unreadable == [] and [s.kind for s in sources] == ["maildir", "maildir"]
    assert sorted(subjects(read(sources))) == ["mail 1", "mail 2"]


def test_a_folder_stands_for_the_files_inside_it_hidden_ones_left_out(tmp_path: Path) -> None:
    make_mbox(tmp_path / "b.mbox", 2)
    (tmp_path / "a.eml").write_bytes(mail(1).as_bytes())
    (tmp_path / ".hidden.eml").write_bytes(mail(9).as_bytes())
    sources, _ = open_sources([str(tmp_path)])
    assert subjects(read(sources)) == ["mail 1", "mail 2"]


def test_an_empty_file_is_an_empty_mailbox(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    sources, unreadable = open_sources([str(tmp_path / "empty")])
    assert unreadable == [] and read(sources) == []


def test_a_missing_path_is_unreadable_and_the_others_are_still_read(tmp_path: Path) -> None:
    sources, unreadable = open_sources([str(tmp_path / "missing.mbox"), str(make_mbox(tmp_path / "x", 1))])
    assert [(u.path, u.reason) for u in unreadable] == [(str(tmp_path / "missing.mbox"), "no such file or directory")]
    assert subjects(read(sources)) == ["mail 1"]
