"""Prometheus metrics of the engine (prometheus_client), served at ``/metrics``.

Gauges describe the Router's view (queue lengths, agents by presence) and are set by the
Router itself after each event, so scraping never asks an actor anything; the live actors of each
kind are counted by their ``ActorMap`` as it adds and removes them. Histograms are
observed where the time is spent: the Persister (commit) and the Conversation (message,
from receipt of ``send`` to fan-out after COMMIT).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

QUEUE_WAITING = Gauge("frontdesk_queue_waiting", "Conversations waiting in a queue", ["queue"],
                      registry=REGISTRY)
AGENTS_BY_PRESENCE = Gauge("frontdesk_agents", "Signed-in agents by presence", ["presence"],
                           registry=REGISTRY)
OFFERS = Counter("frontdesk_offers_total", "Offers made, by outcome", ["outcome"], registry=REGISTRY)
MESSAGES = Counter("frontdesk_messages_total", "Messages committed, by sender kind", ["sender"],
                   registry=REGISTRY)
MESSAGE_LATENCY = Histogram("frontdesk_message_latency_seconds",
                            "From receipt of a send to ack and fan-out (includes COMMIT)",
                            buckets=_LATENCY_BUCKETS_S, registry=REGISTRY)
CHAT_START_LATENCY = Histogram("frontdesk_chat_start_seconds",
                               "A queued chat's POST /api/chats, from its whole request to its answer "
                               "(validated, stored, enqueued; offered when an agent was free)",
                               buckets=_LATENCY_BUCKETS_S, registry=REGISTRY)
COMMIT_LATENCY = Histogram("frontdesk_commit_latency_seconds", "One group-commit transaction",
                           buckets=_LATENCY_BUCKETS_S, registry=REGISTRY)
COMMIT_BATCH = Histogram("frontdesk_commit_batch_writes", "Writes per group commit",
                         buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000), registry=REGISTRY)
ROUTER_TICKS = Counter("frontdesk_router_ticks_total", "Position and agent-status ticks of the Router "
                       "(only after a change: none while idle)", registry=REGISTRY)
SOCKETS = Gauge("frontdesk_websockets", "Open websockets, by role", ["role"], registry=REGISTRY)
QUEUE_SETTINGS_RELOADS = Counter("frontdesk_queue_settings_reloads_total",
                                 "Times the queues' settings were (re)loaded into the Router", registry=REGISTRY)
FRAME_ERRORS = Counter("frontdesk_frame_errors_total", "Refused client frames, by code", ["code"],
                       registry=REGISTRY)
ACTOR_RESTARTS = Counter("frontdesk_actor_restarts_total", "Actors that crashed on a bug and were restarted "
                         "from the database, by kind", ["actor"], registry=REGISTRY)
LIVE_ACTORS = Gauge("frontdesk_live_actors", "Actors running now, by kind (a resting messaging conversation is "
                    "rows, not an actor)", ["actor"], registry=REGISTRY)
ACTORS_PARKED = Counter("frontdesk_actors_parked_total", "Actors that kept crashing and were parked (not "
                        "restarted), by kind", ["actor"], registry=REGISTRY)
RATINGS = Counter("frontdesk_ratings_total", "Ratings (CSAT) customers gave, by score", ["score"],
                  registry=REGISTRY)


def render() -> bytes:
    """The text exposition format of every metric."""
    return generate_latest(REGISTRY)
