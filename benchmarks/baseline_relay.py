"""A bare websocket relay: the floor that the engine's delivery latency is compared with.

Clients connect to ``/pair/<pair id>/<side>`` (side ``a`` or ``b``); every text frame one peer of
a pair sends is forwarded unchanged to the other peer. No parsing, no routing, no persistence:
what is left is trio + trio-websocket + the loopback network, i.e. the same transport the engine
uses (hypercorn's websocket stack aside).

Run standalone with ``python -m benchmarks.baseline_relay --port P`` (prints ``listening on P``
when ready), start it as a pinned subprocess with ``relay_subprocess()``, or in-process with
``serve_relay()`` inside a trio nursery. With ``--database-url`` it is the durable relay of
``baseline_durable.py`` instead: every message committed before it is forwarded.
"""

from __future__ import annotations

import argparse
import gc
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket

from .relay_pairs import pair_path

READY_PREFIX = "listening on"
GC_THRESHOLDS = (5_000, 2, 100)   # as GC_THRESHOLDS in engine/supervisor/run.py


@dataclass
class _Pair:
    peers: dict[str, WebSocketConnection] = field(default_factory=dict)
    joined: dict[str, trio.Event] = field(default_factory=lambda: {"a": trio.Event(), "b": trio.Event()})


class Relay:
    def __init__(self) -> None:
        self.pairs: dict[str, _Pair] = {}
        self.forwarded = 0

    async def handle(self, request: WebSocketRequest) -> None:
        where = pair_path(request.path)
        if where is None:
            await request.reject(404)
            return
        pair_id, side, other = where
        ws = await request.accept()
        pair = self.pairs.setdefault(pair_id, _Pair())
        pair.peers[side] = ws
        pair.joined[side].set()
        try:
            while True:
                message = await ws.get_message()
                await pair.joined[other].wait()
                with suppress(ConnectionClosed):
                    await pair.peers[other].send_message(message)
                    self.forwarded += 1
        except ConnectionClosed:
            pass
        finally:
            if pair.peers.get(side) is ws:
                del pair.peers[side]
                pair.joined[side] = trio.Event()
            if not pair.peers:
                self.pairs.pop(pair_id, None)


async def serve_relay(host: str = "127.0.0.1", port: int = 0,
                      *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve the relay until cancelled; ``task_status.started(port)`` once it listens."""
    relay = Relay()
    async with trio.open_nursery() as nursery:
        server = await nursery.start(serve_websocket, relay.handle, host, port, None)
        task_status.started(int(server.port))


def tune_gc() -> None:
    """The same garbage-collector settings as ``frontdesk serve`` (engine/supervisor/run.py), so the floor is a floor.

    With CPython's defaults a full collection over thousands of sockets pauses the relay for
    hundreds of milliseconds, which would make the baseline's tail look worse than the engine's.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@contextmanager
def relay_subprocess(port: int, cpu: int | None = None, ready_timeout_s: float = 10.0) -> Iterator[int]:
    """Run the relay in its own Python process (pinned to ``cpu`` if given); yields the port."""
    with relay_process(port, cpu, ready_timeout_s) as (ready_port, _pid):
        yield ready_port


@contextmanager
def relay_process(port: int, cpu: int | None = None, ready_timeout_s: float = 10.0,
                  database_url: str | None = None) -> Iterator[tuple[int, int]]:
    """``relay_subprocess`` that also yields the relay's pid (the load generator samples its CPU and RSS);
    with ``database_url`` the durable relay (``baseline_durable.py``)."""
    cmd = [sys.executable, "-m", "benchmarks.baseline_relay", "--host", "127.0.0.1", "--port", str(port)]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    if database_url:
        cmd += ["--database-url", database_url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + ready_timeout_s
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        buffered = b""
        while READY_PREFIX.encode() not in buffered:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"baseline relay did not start: {buffered.decode(errors='replace').strip()!r}")
            readable, _, _ = select.select([fd], [], [], 0.05)
            if readable:
                buffered += os.read(fd, 4096)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="bare trio-websocket pair relay (benchmark baseline)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    parser.add_argument("--database-url", default=None,
                        help="commit every message to this PostgreSQL before forwarding it (baseline_durable.py)")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            if args.database_url:
                from .baseline_durable import serve_durable_relay  # only this relay needs the engine's bridge
                port = await nursery.start(serve_durable_relay, args.database_url, args.host, args.port)
            else:
                port = await nursery.start(serve_relay, args.host, args.port)
            tune_gc()
            print(f"{READY_PREFIX} {port}", flush=True)

    with suppress(KeyboardInterrupt):
        trio.run(run)


if __name__ == "__main__":
    main()
