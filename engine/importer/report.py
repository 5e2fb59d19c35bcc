"""What an import tells its user: a progress bar while it reads and stores, each skipped message
and unreadable path on stderr, and a summary on stdout at the end.

The bar is ``rich``'s (the load generator's bars are rich's too); it is drawn only when stderr is
a terminal, so a log or a pipe gets the lines below and no bar.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from frontdesk.engine.importer.model import Skipped
from frontdesk.engine.importer.sources import Unreadable
from frontdesk.engine.importer.storing import Stored


class ProgressBar:
    """A bar per step; ``step(description, total)`` gives the function that advances it."""

    def __init__(self, err: TextIO):
        console = Console(file=err)
        self._progress = Progress(TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=console, disable=not console.is_terminal)

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.stop()

    def step(self, description: str, total: int) -> Callable[[int], None]:
        task = self._progress.add_task(description, total=total)
        return lambda n: self._progress.advance(task, n)


def problems(unreadable: Sequence[Unreadable], skipped: Sequence[Skipped]) -> list[str]:
    """One line per path that could not be read and per message skipped, for stderr."""
    lines = [f"cannot read {u.path}: {u.reason}" for u in unreadable]
    lines += [f"skipped {s.origin}{f' {s.message_id}' if s.message_id else ''}: {s.reason}" for s in skipped]
    return lines


def summary(threads: int, stored: Stored, skipped: Sequence[Skipped], unreadable: Sequence[Unreadable],
            duplicates: int = 0) -> str:
    """The summary: threads, messages, attachments, and what was skipped, by reason. ``duplicates``
    are the messages given more than once (in two files, or twice in one), counted once."""
    unchanged = threads - stored.conversations
    reasons = Counter(s.reason.split(":", 1)[0] if s.reason.startswith("malformed") else s.reason for s in skipped)
    lines = [
        f"threads:      {threads} ({_count(stored.conversations, 'new conversation')}, {unchanged} imported before)",
        f"messages:     {stored.messages} imported, {stored.present} imported before"
        + (f", {duplicates} given twice" if duplicates else ""),
        f"attachments:  {stored.attachments} imported",
        f"skipped:      {_count(len(skipped), 'message')}"
        + (f" ({', '.join(f'{r}: {n}' for r, n in sorted(reasons.items()))})" if reasons else ""),
    ]
    if unreadable:
        lines.append(f"unreadable:   {_count(len(unreadable), 'path')}")
    if not stored.messages:
        lines.append("nothing new to import" if stored.present else "nothing to import")
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
