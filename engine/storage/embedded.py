"""The embedded PostgreSQL (the ``pgserver`` package) that ``frontdesk serve`` starts without a
``--database-url``, and the CPU scheduling it runs with.

The embedded server shares the engine's host and, on a small machine, its cores. Each commit
wakes a backend; at the default policy the kernel lets that backend preempt the engine in the
middle of its scheduler round, and both pay for the switches. ``SCHED_BATCH`` keeps the weight
of the default policy (a backend gets as much CPU as before) but gives up preemption on wakeup:
the backend runs when the engine waits or its time slice ends. On two cores both the engine
and PostgreSQL spend less CPU per message and a burst of new chats is offered sooner; a commit
takes about a millisecond longer (docs/benchmark-history.md has the figures). Backends forked later
inherit the policy from the postmaster. A server given by ``--database-url`` is left as it is.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """The ``pgserver`` PostgreSQL in ``<data dir>/pgdata``, started on demand, stopped on close."""

    def __init__(self, data_dir: Path):
        self.pgdata = data_dir.resolve() / "pgdata"
        self._server: Any = None

    def start(self) -> str:
        import pgserver

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        schedule_as_batch(self.pgdata)
        return str(self._server.get_uri())

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def postmaster_pid(pgdata: Path) -> int | None:
    """The pid on the first line of ``postmaster.pid``; None without a readable one."""
    try:
        return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc; empty where there is none)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue                    # gone meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(entry.name))
    return kids


def schedule_as_batch(pgdata: Path) -> int:
    """Put the postmaster of ``pgdata`` and its processes in ``SCHED_BATCH``; how many were set.

    Where the platform has no such policy, or the processes are not ours, nothing changes (0)."""
    pid = postmaster_pid(pgdata)
    if pid is None or not hasattr(os, "SCHED_BATCH"):
        return 0
    done = 0
    for target in (pid, *children_of(pid)):
        try:
            os.sched_setscheduler(target, os.SCHED_BATCH, os.sched_param(0))
            done += 1
        except OSError as exc:          # gone meanwhile, or not ours
            log.debug("SCHED_BATCH for pid %d: %s", target, exc)
    return done
