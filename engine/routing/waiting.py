"""Estimated waiting time of a queued chat, from the queue's recent measured handling.

For every chat an agent accepted, the estimator keeps how long it waited and at which queue
position it started waiting. Their ratio — seconds of waiting per place in the line, summed
over the recent chats (``SAMPLES``, at most ``MAX_AGE_S`` old) — times a chat's position is
its estimate. With fewer than ``MIN_SAMPLES`` recent chats there is no basis and the estimate
is ``None``. When agents take chats at once, waits are near zero and so is the estimate; when
a line builds up, each place costs what it cost the chats before. Pure; the Router owns one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

SAMPLES = 50
MIN_SAMPLES = 3
MAX_AGE_S = 3600.0


@dataclass
class WaitEstimator:
    _samples: dict[str, deque[tuple[float, float, int]]] = field(default_factory=dict)  # (at, waited_s, position)

    def record(self, queue: str, at: float, waited_s: float, entry_position: int) -> None:
        self._samples.setdefault(queue, deque(maxlen=SAMPLES)).append((at, max(0.0, waited_s), max(1, entry_position)))

    def estimate(self, queue: str, position: int, now: float) -> int | None:
        """Seconds until a chat at ``position`` is likely taken, or None without enough data."""
        return at_position(self.per_place(queue, now), position)

    def per_place(self, queue: str, now: float) -> float | None:
        """Seconds of waiting per place in ``queue``'s line, or None without enough data. Taken once
        for a whole queue when every waiting chat hears its position (``at_position``): the
        samples are read once per queue, not once per chat."""
        recent = [s for s in self._samples.get(queue, ()) if now - s[0] <= MAX_AGE_S]
        if len(recent) < MIN_SAMPLES:
            return None
        return sum(s[1] for s in recent) / sum(s[2] for s in recent)


def at_position(per_place: float | None, position: int) -> int | None:
    """The estimate for ``position`` from a queue's ``per_place`` (None: no basis)."""
    return None if per_place is None else round(per_place * position)
