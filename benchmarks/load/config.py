"""The settings of one load run, and the named scenarios as presets of them.

A scenario fills in defaults; every flag given on the command line wins over them. Four kinds
of workload exist: ``converse`` (agents and customers exchanging messages), ``idle`` (many
authenticated sockets doing nothing), ``burst`` (many chats created at once) and ``scale`` (an
engine over many resting messaging conversations: ``scale.py``). A ``converse`` run may add one
customer flooding its chat with large messages (``flood_messages``, ``flood.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

AGENT_CAPACITY = 5


@dataclass(frozen=True)
class LoadConfig:
    scenario: str = "custom"
    kind: str = "converse"               # converse | idle | burst | scale
    # ---- how long
    duration_s: float = 30.0             # measured time per target (split across rounds)
    warmup_s: float = 5.0                # per segment, not measured
    rounds: int = 1                      # with a baseline: engine and relay segments alternate (ABBA)
    seed: int = 1
    # ---- conversations (converse)
    mode: str = "closed"                 # closed | open
    conversations: int = 10              # fixed number of concurrent conversations...
    arrival_rate: float = 0.0            # ...or Poisson chat arrivals per second (> 0 wins)
    rate: float = 10.0                   # open loop: customer messages per second, all conversations
    conv_rate: float = 0.0               # open loop: ...or per conversation (> 0 wins; use with arrival_rate)
    send_process: str = "uniform"        # open loop: uniform | poisson spacing of one customer's sends
    exchanges: int = 0                   # the agent ends the chat after this many replies (0 = never)
    customer_think_s: float = 0.0        # closed loop: pause after a reply before the next message
    accept_delay_s: float = 0.0          # agent think time before accepting an offer
    reply_delay_s: float = 0.0           # agent think time before replying (not counted in latency)
    ramp_rate: float = 200.0             # chats opened per second while filling the conversation slots
    text_bytes: int = 40                 # size of each message's text
    flood_messages: int = 0              # one more customer sends this many messages into its chat (0 = none)
    flood_chars: int = 10_000            # ...of this many characters each (PROTOCOL.md's largest)
    # ---- agents
    agents: int = 0                      # 0 = enough for every conversation (capacity 5 each) + 1
    http_logins: int = 5                 # this many agents sign in over HTTP; the rest get tokens in the DB
    http_connections: int = 64           # keep-alive connections the chats' POSTs share (http_lanes.py)
    # ---- idle
    sockets: int = 100
    sockets_per_agent: int = 50
    connect_concurrency: int = 64
    # ---- burst
    burst_chats: int = 100
    burst_window_s: float = 5.0
    # ---- scale (rate: reopenings per second; arrival_rate: new chats; sockets: conversations woken at once)
    seed_conversations: int = 100_000    # resting messaging conversations written before the engine starts
    seed_customers: int = 20_000         # ...of this many customers
    probe_rate: float = 50.0             # conversations opened, and account hellos, per second
    # ---- limits
    timeout_s: float = 10.0              # a message, offer or accept not seen by then is a timeout
    # ---- what else
    vs_baseline: bool = False
    durable_relay: bool = False          # the baseline commits every message before forwarding it (baseline_durable.py)
    database_url: str | None = None
    out_dir: str | None = None
    tag: str = ""
    plots: bool = True
    progress: str = "auto"               # auto | on | off
    pin: bool = True
    warm_wal: bool = True                # the throw-away PostgreSQL: WAL segments ready to recycle first
    pg_batch: bool = True                # ... and SCHED_BATCH, as engine/storage/embedded.py runs the engine's own
    engine_env: dict[str, str] = field(default_factory=dict)

    @property
    def agent_count(self) -> int:
        if self.agents:
            return self.agents + (1 if self.flood_messages else 0)   # the flooding chat takes no one's place
        if self.kind == "idle":
            return max(1, math.ceil(self.sockets / self.sockets_per_agent))
        if self.kind == "burst":
            return math.ceil(self.burst_chats / AGENT_CAPACITY) + 1
        if self.arrival_rate > 0:
            return max(2, math.ceil(self.arrival_rate * 60 / AGENT_CAPACITY))  # generous: a minute of chats
        return math.ceil(self.conversations / AGENT_CAPACITY) + 1

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


SCENARIOS: dict[str, dict[str, Any]] = {
    # proves the tool works end to end: every path of the engine, a few conversations that end
    "smoke": dict(kind="converse", duration_s=10.0, warmup_s=2.0, mode="open", conversations=10, rate=20.0,
                  warm_wal=False,
                  exchanges=5, timeout_s=10.0),
    # 1,000 conversations and 200 agents (1,200 sockets); 1,000 msgs/s = 500 customer sends + 500 replies
    "steady": dict(kind="converse", duration_s=60.0, warmup_s=10.0, mode="open", conversations=1000, agents=200,
                   rate=500.0, exchanges=30, ramp_rate=200.0, timeout_s=10.0),
    # steady's traffic for 15 minutes after a warm-up as long as two chats' lives: does the engine's memory stay flat?
    "soak": dict(kind="converse", duration_s=900.0, warmup_s=120.0, mode="open", conversations=1000, agents=200,
                 rate=500.0, exchanges=30, ramp_rate=200.0, timeout_s=10.0),
    # closed loop, no think time, chats that never end: the throughput ceiling (run at 100 and 1,000)
    "saturate": dict(kind="converse", duration_s=30.0, warmup_s=5.0, mode="closed", conversations=100, exchanges=0,
                     vs_baseline=True, rounds=2, timeout_s=10.0),
    # idle authenticated sockets: memory per socket, idle CPU, connects/s
    "idle": dict(kind="idle", duration_s=20.0, warmup_s=2.0, sockets=10_000, sockets_per_agent=50,
                 timeout_s=10.0),
    # many chats created within a few seconds: time until all are offered and accepted
    "burst": dict(kind="burst", duration_s=5.0, warmup_s=0.0, burst_chats=5000, burst_window_s=5.0,
                  timeout_s=30.0),
    # 100,000 resting conversations: opening one, "my conversations", reopenings beside new chats, memory
    "scale": dict(kind="scale", duration_s=30.0, warmup_s=5.0, rate=200.0, arrival_rate=200.0, agents=100,
                  sockets=5000, timeout_s=10.0),
}


def from_scenario(name: str, overrides: dict[str, Any]) -> LoadConfig:
    """The scenario's preset with ``overrides`` (only flags the user gave) applied on top."""
    base = LoadConfig(scenario=name, **SCENARIOS.get(name, {}))
    return replace(base, **overrides)
