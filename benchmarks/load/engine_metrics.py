"""The engine's own view from ``/metrics``: commits, writes per commit, commit and send→fan-out
time, and how long a queued chat's POST took inside the engine.

Prometheus histograms are cumulative, so a measured window is the difference of two scrapes
(``window``). Only ``_count`` and ``_sum`` are used: means, not percentiles (the client side has
those, exactly).
"""

from __future__ import annotations

import httpx

HISTOGRAMS = ("frontdesk_commit_latency_seconds", "frontdesk_commit_batch_writes",
              "frontdesk_message_latency_seconds", "frontdesk_chat_start_seconds")


async def scrape(http: httpx.AsyncClient) -> dict[str, float]:
    """``{"<histogram>_count": n, "<histogram>_sum": s, ...}``; empty when /metrics does not answer."""
    try:
        r = await http.get("/metrics")
    except httpx.HTTPError:
        return {}
    if r.status_code != 200:
        return {}
    out: dict[str, float] = {}
    for line in r.text.splitlines():
        name, _, value = line.partition(" ")
        if name.endswith(("_count", "_sum")) and name.rsplit("_", 1)[0] in HISTOGRAMS:
            try:
                out[name] = out.get(name, 0.0) + float(value)
            except ValueError:
                continue
    return out


def window(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float | None]:
    """Commits per second, writes per commit, mean commit time, mean send→fan-out time and mean
    time of a queued chat's POST inside the engine (the rest of the client's ``create`` and
    ``offer`` times is the network and the client) in a window."""
    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    commits = delta("frontdesk_commit_latency_seconds_count")
    messages = delta("frontdesk_message_latency_seconds_count")
    chats = delta("frontdesk_chat_start_seconds_count")
    return {
        "commits_per_s": round(commits / seconds, 1) if seconds > 0 else None,
        "writes_per_commit": round(delta("frontdesk_commit_batch_writes_sum") / commits, 2) if commits else None,
        "commit_ms_mean": round(delta("frontdesk_commit_latency_seconds_sum") / commits * 1000, 2) if commits else None,
        "send_to_fanout_ms_mean": round(delta("frontdesk_message_latency_seconds_sum") / messages * 1000, 2)
        if messages else None,
        "chat_start_ms_mean": round(delta("frontdesk_chat_start_seconds_sum") / chats * 1000, 2) if chats else None,
    }
