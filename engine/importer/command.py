"""``frontdesk import-mail --queue Q [--agent-domain D] PATH...`` (PROTOCOL.md §7, §14): reads the
paths, threads their mails, stores the threads as resolved conversations of queue Q, and reports.

Exit status: 0 when every readable path was processed (skipped messages are listed on stderr and
counted in the summary), 1 when a path could not be read at all (the other paths are imported
all the same), 2 when nothing could be imported: the queue does not exist (``__main__`` also
answers 2 when the database cannot be reached).

Error handling: a ``DatabaseError`` propagates to the caller (the batches committed before it
stay, and running the import again adds only what is missing); the staging folder and the open
mailboxes are cleaned up on every exit.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from frontdesk.engine.importer.files import Staging
from frontdesk.engine.importer.model import Mail, Skipped
from frontdesk.engine.importer.parsing import parse_mail
from frontdesk.engine.importer.report import ProgressBar, problems, summary
from frontdesk.engine.importer.sources import Source, open_sources
from frontdesk.engine.importer.storing import Store
from frontdesk.engine.importer.threads import agent_rule, thread_mails
from frontdesk.engine.storage import mail_import
from frontdesk.engine.storage.db import Database

EXIT_DONE = 0
EXIT_UNREADABLE = 1
EXIT_REFUSED = 2


@dataclass(frozen=True)
class ImportRequest:
    queue: str
    paths: tuple[str, ...]
    agent_domains: tuple[str, ...] = ()


async def import_mail(db: Database, request: ImportRequest, uploads_dir: Path, out: TextIO = sys.stdout,
                      err: TextIO = sys.stderr) -> int:
    """Run the import; the exit status."""
    if not await mail_import.queue_exists(db, request.queue):
        print(f"frontdesk import-mail: there is no queue {request.queue!r}", file=err)
        return EXIT_REFUSED
    staff = await mail_import.staff_by_email(db)
    is_agent = agent_rule(request.agent_domains, staff.keys())
    sources, unreadable = open_sources(request.paths)
    try:
        with Staging(uploads_dir) as staging, ProgressBar(err) as bar:
            mails, skipped, duplicates = _read(sources, staging, bar.step("reading", sum(map(len, sources))))
            threads, without_customer = thread_mails(mails, is_agent)
            skipped += without_customer
            store = Store(db, request.queue, staff, is_agent, staging)
            stored = await store.store(threads, bar.step("storing", sum(len(t.mails) for t in threads)))
    finally:
        for source in sources:
            source.close()
    for line in problems(unreadable, skipped):
        print(line, file=err)
    print(summary(len(threads), stored, skipped, unreadable, duplicates), file=out)
    return EXIT_UNREADABLE if unreadable else EXIT_DONE


def _read(sources: Sequence[Source], staging: Staging,
          done: Callable[[int], None]) -> tuple[list[Mail], list[Skipped], int]:
    """Every mail of the sources once (a mail given twice, by Message-ID or by content, counts once),
    the messages skipped, and how many were given twice."""
    mails: dict[str, Mail] = {}
    skipped: list[Skipped] = []
    duplicates = 0
    order = 0
    for source in sources:
        for origin, raw in source.messages():
            order += 1
            if isinstance(raw, OSError):
                skipped.append(Skipped(origin, f"unreadable: {raw}"))
            else:
                read = parse_mail(raw, origin, order, staging.stash)
                if isinstance(read, Skipped):
                    skipped.append(read)
                elif read.source_id in mails:
                    duplicates += 1
                else:
                    mails[read.source_id] = read
            done(1)
    return list(mails.values()), skipped, duplicates
