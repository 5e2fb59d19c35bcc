"""The ``burst`` workload: ``burst_chats`` chats created within ``burst_window_s``; how soon is every one offered?

Enough agents for all of them (capacity 5) are signed in and available first. The chats are
created at evenly spaced SCHEDULED times over the window (open loop: a POST that waits for a
free HTTP connection still counts from its scheduled time), agents accept every offer at once,
customers do not connect. Reported: the ``create``, ``offer`` and ``accept`` paths, and the time
from the last scheduled arrival until every created chat had been offered and accepted.
"""

from __future__ import annotations

import httpx
import trio

from .context import RunContext
from .converse import SIGN_IN_TIMEOUT_S
from .engine_sim import HTTP_CONNECTIONS, EngineWorld, limits
from .http_lanes import HttpLanes
from .traffic import Conv, Plan


async def run_burst(ctx: RunContext) -> None:
    cfg = ctx.cfg
    rec = ctx.recorder("engine")
    world = EngineWorld(ctx.engine_base, Plan.of(cfg), rec, ctx.rng, cfg.text_bytes)
    convs: list[Conv] = []
    ctx.live["engine"] = lambda: len(world.accepted_at)
    async with httpx.AsyncClient(base_url=ctx.engine_base, timeout=cfg.timeout_s,
                                 limits=limits(HTTP_CONNECTIONS)) as http, \
            HttpLanes(ctx.engine_base, cfg.timeout_s, cfg.http_connections) as chat_posts, \
            trio.open_nursery() as agents:
        world.http, world.chat_posts = http, chat_posts
        ctx.phase.label, ctx.phase.target = f"signing in {len(ctx.agent_emails)} agents", "engine"
        await world.sign_in(agents, ctx.agent_emails, ctx.agent_tokens, SIGN_IN_TIMEOUT_S)
        n, window_s = cfg.burst_chats, cfg.burst_window_s
        start = trio.current_time() + 0.5
        times = [start + window_s * i / n for i in range(n)]
        last_arrival = times[-1]
        rec.open_window(start, last_arrival + cfg.timeout_s)
        ctx.phase.label = f"engine: {n} chats in {window_s:g} s"
        with trio.move_on_at(last_arrival + cfg.timeout_s):
            async with trio.open_nursery() as creators:
                i = 0
                while i < n:
                    await trio.sleep_until(times[i])
                    # every chat due by now starts in one wake-up: a sleep per chat would wake the
                    # generator once a millisecond, and each wake-up costs it CPU the burst needs
                    now = trio.current_time()
                    while i < n and times[i] <= now:
                        conv = Conv(i)
                        convs.append(conv)
                        creators.start_soon(world.create_chat, conv, times[i])
                        i += 1
        posts_done = trio.current_time()
        created = [c.cid for c in convs if c.cid]
        ctx.phase.label = "engine: waiting for every offer and accept"
        with trio.move_on_at(max(posts_done, last_arrival) + cfg.timeout_s):
            while not (len(world.offered_at) >= len(created) and len(world.accepted_at) >= len(created)
                       and all(c in world.offered_at and c in world.accepted_at for c in created)):
                await world.changed.wait()
        offered = [world.offered_at[c] for c in created if c in world.offered_at]
        accepted = [world.accepted_at[c] for c in created if c in world.accepted_at]
        missing_offers = len(created) - len(offered)
        missing_accepts = len(created) - len(accepted)
        if len(created) < n:
            rec.error("burst: chat not created (POST failed or not answered in time)", n - len(created))
        if missing_offers:
            rec.error("burst: chat never offered", missing_offers)
        if missing_accepts:
            rec.error("burst: chat never accepted", missing_accepts)
        world.closing = True
        agents.cancel_scope.cancel()
        finished = max([posts_done, *offered, *accepted])
        rec.close_window(finished)      # CPU and rates over the time the burst took, not its deadline
    ctx.extra["engine"] = {
        "chats_scheduled": n, "window_s": window_s, "chats_created": len(created),
        "posts_done_after_last_arrival_s": round(posts_done - last_arrival, 3),
        "offered": len(offered), "accepted": len(accepted),
        "all_offered_after_last_arrival_s": round(max(offered) - last_arrival, 3) if offered and not missing_offers
        else None,
        "all_accepted_after_last_arrival_s": round(max(accepted) - last_arrival, 3) if accepted and not missing_accepts
        else None,
        "chats_per_s_achieved": round(len(created) / max(1e-9, posts_done - start), 1),
    }
    ctx.add_segment("engine", start, rec.windows[-1], trio.current_time(), label="burst")
