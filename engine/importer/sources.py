"""What each path given to ``import-mail`` holds, and the bytes of its messages.

The standard library's ``mailbox`` package reads the mailboxes. A directory with ``cur`` and
``new`` is a Maildir (with its Maildir++ sub-folders, such as ``.Sent``, where replies usually
are); any other directory stands for the paths inside it, in name order, hidden ones left out.
A file whose first line starts with ``From `` is an mbox; an empty file is an empty mbox; any
other file is one message (``.eml``).

Error handling: ``open_sources`` reports each path that cannot be read at all (missing, no
permission, a mailbox that cannot be opened) as ``Unreadable`` and goes on with the others. A
message that cannot be read inside a readable mailbox comes out as an ``OSError`` in its place.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MBOX_START = b"From "
# How much of a file is read to tell an mbox from a single message.
SNIFF_BYTES = 4096


@dataclass(frozen=True)
class Unreadable:
    path: str
    reason: str


@dataclass
class Source:
    """One mailbox (or one message); ``len`` is how many messages it holds."""

    path: Path
    kind: str                                       # mbox | maildir | eml
    _box: mailbox.Mailbox | None = field(default=None, repr=False)
    _keys: list[str] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return len(self._keys) if self._box is not None else 1

    def messages(self) -> Iterator[tuple[str, bytes | OSError]]:
        """(origin, raw bytes) of each message in the mailbox's order; an ``OSError`` for a message
        that cannot be read. The origin names the message in reports: ``path:number`` in an mbox,
        ``path:key`` in a Maildir, the path of an ``.eml`` file."""
        if self._box is None:
            try:
                yield str(self.path), self.path.read_bytes()
            except OSError as exc:
                yield str(self.path), exc
            return
        for number, key in enumerate(self._keys, start=1):
            origin = f"{self.path}:{number if self.kind == 'mbox' else key}"
            try:
                yield origin, self._box.get_bytes(key)
            except (OSError, KeyError) as exc:      # KeyError: a Maildir file removed meanwhile
                yield origin, exc if isinstance(exc, OSError) else FileNotFoundError(str(exc))

    def close(self) -> None:
        if self._box is not None:
            self._box.close()


def open_sources(paths: Sequence[str]) -> tuple[list[Source], list[Unreadable]]:
    """Every mailbox the paths hold, and the paths that cannot be read. Close the sources after use."""
    sources: list[Source] = []
    unreadable: list[Unreadable] = []
    for given in paths:
        _open(Path(given), sources, unreadable)
    return sources, unreadable


def _open(path: Path, sources: list[Source], unreadable: list[Unreadable]) -> None:
    try:
        if path.is_dir():
            if (path / "cur").is_dir() and (path / "new").is_dir():
                _open_maildir(path, sources)
            else:
                for entry in sorted(path.iterdir()):
                    if not entry.name.startswith("."):
                        _open(entry, sources, unreadable)
        elif path.exists():
            with path.open("rb") as f:
                head = f.read(SNIFF_BYTES).lstrip(b"\r\n")
            if not head or head.startswith(MBOX_START):
                box = mailbox.mbox(path, create=False)
                sources.append(Source(path, "mbox", box, list(box.keys())))
            else:
                sources.append(Source(path, "eml"))
        else:
            unreadable.append(Unreadable(str(path), "no such file or directory"))
    except (OSError, mailbox.Error) as exc:
        unreadable.append(Unreadable(str(path), str(exc) or type(exc).__name__))


def _open_maildir(path: Path, sources: list[Source]) -> None:
    box = mailbox.Maildir(path, factory=None, create=False)
    sources.append(Source(path, "maildir", box, sorted(box.keys())))
    for name in sorted(box.list_folders()):
        _open_maildir(path / f".{name}", sources)
