"""The live progress bar (rich) while a run goes, or a plain line every few seconds without a terminal.

Refreshed from a trio task (``auto_refresh=False``: no display thread competing with the
generator's event loop) twice a second: the current step, elapsed against the planned time, and
for the target under load the last second's msgs/s and p99, open conversations or sockets,
messages in flight, errors, and the server's CPU and RSS.
"""

from __future__ import annotations

import sys

import trio

from .context import RunContext

REFRESH_S = 0.5
PLAIN_EVERY_S = 5.0


def status_line(ctx: RunContext) -> str:
    now = trio.current_time()
    target = ctx.phase.target
    parts = []
    rec = ctx.recorders.get(target)
    if rec is not None:
        p99 = rec.p99_last(now)
        parts.append(f"{rec.rate_last(now):,.0f} msgs/s")
        parts.append(f"p99 {p99:,.1f} ms" if p99 is not None else "p99 -")
        parts.append(f"in flight {rec.in_flight():,}")
        parts.append(f"errors {sum(rec.errors.values()):,}")
    live = ctx.live.get(target)
    if live is not None:
        parts.append(f"open {live():,}")
    sample = ctx.sampler.latest(target) if target else None
    if sample:
        parts.append(f"{target} CPU {sample['cpu_pct']:.0f}% (waited {sample['runq_wait_pct']:.0f}%) "
                     f"RSS {sample['rss_mib']:.0f} MiB")
    pg = ctx.sampler.latest("postgres")
    if pg:
        parts.append(f"PG CPU {pg['cpu_pct']:.0f}%")
    return " · ".join(parts)


async def show(ctx: RunContext, mode: str) -> None:
    """Run until cancelled. ``mode``: on, off, or auto (on when stdout is a terminal)."""
    if mode == "off" or (mode == "auto" and not sys.stdout.isatty()):
        await _plain(ctx, quiet=mode == "off")
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[stats]}"), auto_refresh=False, transient=False) as bar:
        task = bar.add_task(ctx.phase.label, total=max(1.0, ctx.phase.planned_s), stats="")
        while True:
            elapsed = trio.current_time() - ctx.phase.started
            bar.update(task, completed=min(elapsed, ctx.phase.planned_s), description=f"{ctx.phase.label:<34}",
                       stats=status_line(ctx))
            bar.refresh()
            await trio.sleep(REFRESH_S)


async def _plain(ctx: RunContext, quiet: bool) -> None:
    while True:
        await trio.sleep(PLAIN_EVERY_S)
        if not quiet:
            elapsed = trio.current_time() - ctx.phase.started
            print(f"[{elapsed:6.1f}/{ctx.phase.planned_s:.0f} s] {ctx.phase.label}: {status_line(ctx)}", flush=True)
