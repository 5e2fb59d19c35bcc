"""The processes under test: a throw-away PostgreSQL, the engine and (optionally) the bare relay.

Start-up order matters for CPU placement: PostgreSQL is started first, while this process may
still run on every CPU, so the cluster stays unpinned; the engine and the relay are pinned to
the first CPU; then this process (the load generator) pins itself to the second. A scenario that
needs data in the database before the engine starts (``scale``) writes it between the two
(``before_engine``). With fewer
than two CPUs (or ``--no-pin``) nothing is pinned. The cluster runs as ``SCHED_BATCH``, as the
engine's own embedded database does (``engine/storage/embedded.py``; ``--pg-sched-normal``:
the default policy).

Resource handling: ``Servers`` is a context manager; leaving it stops the relay, the engine
(SIGTERM, SIGKILL after 10 s) and PostgreSQL, and removes the temporary directory, whatever
happened inside.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from frontdesk.engine.storage.embedded import schedule_as_batch

from ..baseline_relay import relay_process
from ..latency import ENGINE_START_TIMEOUT_S, EmbeddedPostgres, EngineProcess, free_port
from .config import LoadConfig


def cpu_plan(pin: bool) -> tuple[list[int], int | None, int | None]:
    """(CPUs available, the servers' CPU, the generator's CPU); no pinning with < 2 CPUs."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if pin and len(cpus) >= 2:
        return cpus, cpus[0], cpus[1]
    return cpus, None, None


class Servers:
    def __init__(self, cfg: LoadConfig, log: Callable[[str], None] = print,
                 before_engine: Callable[[str], None] | None = None):
        self.cfg = cfg
        self.log = log
        self.before_engine = before_engine      # given the database's URL while no engine serves it
        self.cpus, self.server_cpu, self.generator_cpu = cpu_plan(cfg.pin)
        self.tmp = Path(tempfile.mkdtemp(prefix="fdload-"))
        self.pg: EmbeddedPostgres | None = None
        self.pg_policy = "default CPU policy"         # SCHED_BATCH unless --pg-sched-normal
        self.pgdata: Path | None = None
        self.database_url = ""
        self.engine: EngineProcess | None = None
        self.relay_port: int | None = None
        self.relay_pid: int | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Servers:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        cfg = self.cfg
        if cfg.database_url:
            self.database_url = cfg.database_url
            self.log("database: --database-url (given); PostgreSQL's CPU is not sampled")
        else:
            self.pgdata = self.tmp / "pg"
            self.pg = EmbeddedPostgres(self.pgdata)
            self.database_url = self.pg.url
            if cfg.pg_batch and schedule_as_batch(self.pgdata):
                self.pg_policy = "SCHED_BATCH"
            if cfg.warm_wal:
                started = time.perf_counter()
                self.pg.warm_wal()
                self.log(f"database: WAL segments made ready to recycle ({time.perf_counter() - started:.1f} s)")
            self.log(f"database: throw-away embedded PostgreSQL (pgserver), unpinned, {self.pg_policy}")
        if self.before_engine is not None:
            self.before_engine(self.database_url)
        os.environ.update(cfg.engine_env)
        self.engine = EngineProcess(free_port(), self.tmp / "engine", self.database_url, self.server_cpu,
                                    self.tmp / "engine.log")
        self.engine.start()
        self.engine.wait_healthy(ENGINE_START_TIMEOUT_S)
        self.log(f"engine up at {self.engine.base} (pid {self.engine_pid}, CPU {self._cpu(self.server_cpu)})")
        if cfg.vs_baseline:
            durable = self.database_url if cfg.durable_relay else None
            self.relay_port, self.relay_pid = self._stack.enter_context(
                relay_process(free_port(), self.server_cpu, database_url=durable))
            kind = "durable relay (every message committed before it is forwarded)" if durable else "bare relay"
            self.log(f"{kind} up on port {self.relay_port} (pid {self.relay_pid}, CPU {self._cpu(self.server_cpu)})")
        if self.generator_cpu is not None:
            os.sched_setaffinity(0, {self.generator_cpu})
        self.log(f"load generator: pid {os.getpid()}, CPU {self._cpu(self.generator_cpu)}")

    @staticmethod
    def _cpu(cpu: int | None) -> str:
        return "any" if cpu is None else str(cpu)

    @property
    def engine_pid(self) -> int | None:
        return self.engine.proc.pid if self.engine is not None and self.engine.proc is not None else None

    @property
    def engine_base(self) -> str:
        assert self.engine is not None
        return self.engine.base

    def engine_exit_status(self) -> int | None:
        """The engine's exit status if it has ended (it should not before ``__exit__``), else None."""
        proc = self.engine.proc if self.engine is not None else None
        return proc.poll() if proc is not None else None

    def engine_log_tail(self, lines: int = 30) -> str:
        return self.engine.log_tail(lines) if self.engine is not None else ""

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self._stack.close()
        finally:
            try:
                if self.engine is not None:
                    self.engine.stop()
            finally:
                if self.pg is not None:
                    self.pg.stop()
                shutil.rmtree(self.tmp, ignore_errors=True)
