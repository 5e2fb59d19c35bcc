"""What one run shares between its parts: settings, where the servers are, recorders, sampler, phase."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import trio

from .config import LoadConfig
from .sampler import Sampler
from .stats import Recorder

SWEEP_EVERY_S = 1.0


@dataclass
class Phase:
    """What the progress display shows: the current step, and how far the whole run has come."""

    label: str = "starting"
    target: str = ""
    planned_s: float = 0.0
    started: float = 0.0


@dataclass
class RunContext:
    cfg: LoadConfig
    engine_base: str
    relay_port: int | None
    agent_emails: list[str]
    agent_tokens: dict[str, str]
    origin: float
    sampler: Sampler
    recorders: dict[str, Recorder] = field(default_factory=dict)
    segments: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)   # per target: scenario-specific figures
    phase: Phase = field(default_factory=Phase)
    live: dict[str, Any] = field(default_factory=dict)                # per target: open conversations / sockets
    rng: random.Random = field(default_factory=random.Random)

    def recorder(self, target: str) -> Recorder:
        rec = self.recorders.get(target)
        if rec is None:
            rec = self.recorders[target] = Recorder(target, self.origin)
        return rec

    def rel(self, t: float) -> float:
        return round(t - self.origin, 3)

    def add_segment(self, target: str, start: float, measure: tuple[float, float], end: float, **info: Any) -> None:
        self.segments.append({"target": target, "start_s": self.rel(start), "measure_from_s": self.rel(measure[0]),
                              "measure_to_s": self.rel(measure[1]), "end_s": self.rel(end), **info})

    async def sweep_forever(self) -> None:
        """Turn starts that waited longer than the timeout into timeouts (bounds the pending maps)."""
        while True:
            await trio.sleep(SWEEP_EVERY_S)
            now = trio.current_time()
            for rec in self.recorders.values():
                rec.sweep(now, self.cfg.timeout_s)

    def expire_all(self, target: str) -> None:
        """After a segment's drain: whatever has still not arrived is a timeout."""
        self.recorder(target).sweep(math.inf, 0.0)
