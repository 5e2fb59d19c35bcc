"""Staffing forecast by Erlang C: pure functions, no database and no Streamlit.

Erlang C models N identical servers taking work from one first-come-first-served line with
Poisson arrivals, exponential handling times and customers who never give up. Traffic
A = arrival rate × mean handling time (Erlangs); the model is stable only while A < N.

- ``erlang_c(n, a)``: probability that a chat has to wait at all;
- ``service_level(n, a, aht, t)``: share answered within ``t``: 1 − C(N, A)·e^(−(N−A)·t/AHT);
- ``mean_wait(n, a, aht)``: average speed of answer, C(N, A)·AHT/(N−A);
- ``agents_needed(...)``: the fewest agents reaching a service-level goal.

Chats, unlike calls, run side by side: an agent of capacity k counts as k servers
(servers = agents × capacity). That holds when the handling time was measured at the
concurrency the agents work at (a chat of an agent with three open chats lasts longer than one
handled alone) and when a free slot is offered a waiting chat at once, as the Router does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# no more agents than this are searched for one hour: beyond it the inputs are not a chat desk
MAX_AGENTS = 10_000


def erlang_b(n: int, a: float) -> float:
    """Blocking probability of N servers offered A Erlangs (the stable recursion, no factorials)."""
    if n < 0 or a < 0:
        raise ValueError("servers and traffic must not be negative")
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(n: int, a: float) -> float:
    """Probability that an arriving chat waits (all N servers busy); 1.0 when A ≥ N (no steady state)."""
    if a <= 0:
        return 0.0
    if a >= n:
        return 1.0
    b = erlang_b(n, a)
    return n * b / (n - a * (1 - b))


def service_level(n: int, a: float, aht_s: float, target_s: float) -> float:
    """Share of chats answered within ``target_s`` seconds with N servers and A Erlangs."""
    if a <= 0:
        return 1.0
    if a >= n:
        return 0.0
    return 1.0 - erlang_c(n, a) * math.exp(-(n - a) * target_s / aht_s)


def mean_wait(n: int, a: float, aht_s: float) -> float:
    """Average wait in seconds of all chats (those answered at once count as 0); inf when A ≥ N."""
    if a <= 0:
        return 0.0
    if a >= n:
        return math.inf
    return erlang_c(n, a) * aht_s / (n - a)


def traffic(arrivals_per_hour: float, aht_s: float) -> float:
    """Offered load in Erlangs: chats per second × seconds per chat."""
    return arrivals_per_hour / 3600 * aht_s


@dataclass(frozen=True)
class Hour:
    """One hour's forecast: the agents needed and what they (and the staff that was there) achieve."""

    arrivals_per_hour: float
    aht_s: float
    erlangs: float
    agents_needed: int
    service_level_needed: float        # with ``agents_needed``
    agents_present: float | None       # the mean number that was available, when known
    service_level_present: float | None


def agents_needed(arrivals_per_hour: float, aht_s: float, target_s: float, goal: float, capacity: int) -> int:
    """The fewest agents of ``capacity`` chats each whose servers (agents × capacity) answer the
    share ``goal`` (0–1) of chats within ``target_s``; 0 when no chats come."""
    if capacity < 1:
        raise ValueError("capacity must be at least 1")
    if not 0 < goal < 1:
        raise ValueError("goal must be between 0 and 1 (exclusive)")
    a = traffic(arrivals_per_hour, aht_s)
    if a <= 0:
        return 0
    agents = max(1, math.floor(a / capacity))
    while agents <= MAX_AGENTS:
        if service_level(agents * capacity, a, aht_s, target_s) >= goal:
            return agents
        agents += 1
    raise ValueError(f"more than {MAX_AGENTS} agents needed")


def present_servers(agents_present: float, capacity: int) -> int:
    """Servers of a mean head count: a fraction of an agent counts for the slots it covers."""
    return math.floor(agents_present * capacity + 1e-9)


def hour(arrivals_per_hour: float, aht_s: float, target_s: float, goal: float, capacity: int,
         agents_present: float | None = None) -> Hour:
    a = traffic(arrivals_per_hour, aht_s)
    needed = agents_needed(arrivals_per_hour, aht_s, target_s, goal, capacity)
    present_sl = None
    if agents_present is not None:
        present_sl = service_level(present_servers(agents_present, capacity), a, aht_s, target_s)
    return Hour(arrivals_per_hour, aht_s, a, needed, service_level(needed * capacity, a, aht_s, target_s),
                agents_present, present_sl)


@dataclass(frozen=True)
class Slot:
    """One hour of the week as measured: ``hours`` such hours in the period, ``chats`` arrivals,
    ``handling_s`` their mean handling time (None when none ended), ``agent_hours`` available."""

    weekday: int
    hour: int
    hours: int
    chats: int
    handling_s: float | None
    agent_hours: float


def week(slots: list[Slot], target_s: float, goal: float, capacity: int,
         fallback_aht_s: float) -> list[tuple[Slot, Hour]]:
    """The forecast of every hour of the week: arrivals and staffing averaged over the times the hour
    occurred; an hour whose chats none ended takes ``fallback_aht_s`` (the period's mean)."""
    out = []
    for s in slots:
        if s.hours <= 0:
            continue
        aht = s.handling_s if s.handling_s else fallback_aht_s
        out.append((s, hour(s.chats / s.hours, aht, target_s, goal, capacity, s.agent_hours / s.hours)))
    return out
