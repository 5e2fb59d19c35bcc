"""``frontdesk serve`` as a subprocess of a test: started on a database of the test, killed with
SIGKILL or stopped with SIGTERM, its output kept in a log file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import trio
from conftest import Engine, make_config

FRONTDESK = Path(sys.executable).with_name("frontdesk")
START_TIMEOUT_S = 30.0
# the reconnect grace is longer than in the in-process tests: after a restart an agent who owns
# conversations has this long to come back before they are requeued, and a fresh subprocess engine
# on a 2-core machine needs the margin
ENV = {"FRONTDESK_OFFER_TIMEOUT_MS": "2000", "FRONTDESK_RECONNECT_GRACE_MS": "5000",
       "FRONTDESK_CUSTOMER_GRACE_MS": "60000", "FRONTDESK_MISSED_OFFERS_AWAY": "2",
       "FRONTDESK_MAX_WAIT_S": "600", "FRONTDESK_RATE_LIMIT": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EngineProcess:
    """``frontdesk serve`` in its own process group, so that it can be killed with SIGKILL."""

    def __init__(self, database_url: str, data_dir: Path, log_path: Path):
        self.database_url = database_url
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.engine = Engine(self.base, make_config(database_url, data_dir), trio.CancelScope())
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> Engine:
        """Start the engine (same port, same database) and wait until /healthz answers 200."""
        self._spawn()
        await self._wait_healthy()
        return self.engine

    def _spawn(self) -> None:
        assert self.proc is None
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")} | ENV
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(FRONTDESK), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--database-url", self.database_url, "--data-dir", str(self.data_dir)],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    async def _wait_healthy(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=1) as http:
            with trio.move_on_after(START_TIMEOUT_S):
                while True:
                    assert self.proc is not None
                    if self.proc.poll() is not None:
                        raise AssertionError(f"engine exited with {self.proc.returncode}:\n{self.log_tail()}")
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            return
                    except httpx.TransportError:
                        pass
                    await trio.sleep(0.05)  # poll interval while the engine starts
        raise AssertionError(f"engine not healthy within {START_TIMEOUT_S}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the engine's process group: no shutdown code runs."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.proc = None

    async def restart(self) -> Engine:
        self.kill()
        return await self.start()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def terminate(self, timeout_s: float = 20.0) -> int:
        """SIGTERM, as ``make run``'s Ctrl-C or a service manager sends it; the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout_s)
        finally:
            self.proc = None
