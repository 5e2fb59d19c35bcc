"""The ``idle`` workload: many authenticated websockets that do nothing.

Engine: bench agents (``sockets_per_agent`` sockets each, like an agent with many browser tabs:
the cheapest way to hold thousands of authenticated sockets without thousands of chats) open
``sockets`` websockets, ``connect_concurrency`` at a time, each ``hello`` → ``welcome``. Then:

- connects/s = sockets / (first connect started → last welcome);
- memory per socket = (engine RSS after all connected and settled − RSS before) / sockets;
- idle CPU = the engine's CPU while the sockets sit idle for ``duration_s``; frames the
  engine sends meanwhile are counted (there should be none).

Baseline: the same number of sockets to the bare relay (as pairs, no hello), same figures.
"""

from __future__ import annotations

import statistics

import trio
from trio_websocket import ConnectionClosed, HandshakeError, WebSocketConnection

from .context import RunContext
from .sampler import rss_bytes
from .wsio import expect, open_ws, send_json

SETTLE_S = 2.0
RSS_READINGS = 5
CONNECT_PHASE_TIMEOUT_S = 300.0


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)


async def steady_rss(pid: int | None) -> float | None:
    """Median RSS (MiB) over a few readings a tenth of a second apart."""
    if pid is None:
        return None
    values = []
    for _ in range(RSS_READINGS):
        v = rss_bytes(pid)
        if v is not None:
            values.append(v / 2**20)
        await trio.sleep(0.1)
    return statistics.median(values) if values else None


async def hold_sockets(ctx: RunContext, target: str, pid: int | None, urls: list[str], hellos: list[str | None],
                       ) -> None:
    cfg, rec = ctx.cfg, ctx.recorder(target)
    n = len(urls)
    gate = trio.Semaphore(cfg.connect_concurrency)
    release = trio.Event()
    all_done = trio.Event()
    counts = {"connected": 0, "failed": 0, "open": 0, "idle_frames": 0, "idle": 0}
    ctx.live[target] = lambda: counts["open"]

    def settled() -> None:
        if counts["connected"] + counts["failed"] >= n:
            all_done.set()

    async def count_frames(ws: WebSocketConnection) -> None:
        while True:
            await ws.get_message()
            counts["idle_frames"] += counts["idle"]

    async def one(url: str, hello: str | None) -> None:
        await gate.acquire()
        released = False
        try:
            t0 = trio.current_time()
            async with open_ws(url) as ws:
                if hello is not None:
                    await send_json(ws, {"type": "hello", "token": hello})
                    await expect(ws, "welcome", cfg.timeout_s)
                rec.setup("connect", t0, trio.current_time(), always=True)
                gate.release()
                released = True
                counts["connected"] += 1
                counts["open"] += 1
                settled()
                try:
                    async with trio.open_nursery() as inner:
                        inner.start_soon(count_frames, ws)
                        await release.wait()
                        inner.cancel_scope.cancel()
                finally:
                    counts["open"] -= 1
        except (OSError, HandshakeError, ConnectionClosed, trio.TooSlowError, RuntimeError) as exc:
            if not release.is_set():
                rec.error(f"idle socket: {type(exc).__name__}")
                counts["failed"] += 1
                settled()
        finally:
            if not released:
                gate.release()

    ctx.phase.label, ctx.phase.target = f"{target}: connecting {n} sockets", target
    before = await steady_rss(pid)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for url, hello in zip(urls, hellos, strict=True):
            nursery.start_soon(one, url, hello)
        with trio.move_on_after(CONNECT_PHASE_TIMEOUT_S):
            await all_done.wait()
        connected_at = trio.current_time()
        connect_s = connected_at - start
        ctx.sampler.sample_now()
        ctx.phase.label = f"{target}: settling"
        await trio.sleep(SETTLE_S)
        after = await steady_rss(pid)
        counts["idle"] = 1
        window = (trio.current_time(), trio.current_time() + cfg.duration_s)
        rec.open_window(*window)
        connected = counts["connected"]
        ctx.phase.label = f"{target}: {connected} idle sockets"
        await trio.sleep_until(window[1])
        ctx.phase.label = f"{target}: closing"
        release.set()
    rec.counters["sockets connected"] = connected
    during = ctx.sampler.summary([(start, connected_at)]).get(target, {})
    cpu_pct = during.get("cpu_pct_mean")
    ctx.extra[target] = {
        "sockets": len(urls), "connected": connected, "connect_phase_s": round(connect_s, 2),
        "connects_per_s": _round(connected / connect_s if connect_s > 0 else None, 1),
        "rss_before_mib": _round(before, 1), "rss_after_mib": _round(after, 1),
        "kib_per_socket": _round((after - before) * 1024 / connected
                                 if after is not None and before is not None and connected else None, 2),
        "server_cpu_pct_while_connecting": cpu_pct,
        "server_cpu_ms_per_connect": _round(cpu_pct / 100 * connect_s / connected * 1000
                                            if cpu_pct is not None and connected else None, 2),
        "frames_while_idle": counts["idle_frames"]}
    ctx.add_segment(target, start, window, trio.current_time(), label=f"{target} idle")


async def run_idle(ctx: RunContext, engine_pid: int | None, relay_pid: int | None) -> None:
    cfg = ctx.cfg
    n = cfg.sockets
    if cfg.vs_baseline and ctx.relay_port is not None:
        pairs = n // 2
        urls = [f"ws://127.0.0.1:{ctx.relay_port}/pair/idle{i // 2}/{'ab'[i % 2]}" for i in range(pairs * 2)]
        await hold_sockets(ctx, "relay", relay_pid, urls, [None] * len(urls))
    tokens = [ctx.agent_tokens[e] for e in ctx.agent_emails if e in ctx.agent_tokens]
    if not tokens:
        raise RuntimeError("idle needs agents with database tokens (--http-logins 0)")
    ws_url = ctx.engine_base.replace("http", "ws", 1) + "/ws"
    await hold_sockets(ctx, "engine", engine_pid, [ws_url] * n, [tokens[i % len(tokens)] for i in range(n)])
