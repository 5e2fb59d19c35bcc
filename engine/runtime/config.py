"""Typed settings of the engine, read from the environment and overridden by flags.

Every setting of PROTOCOL.md §1 lives here with its default; durations carry their unit in
the name. ``Config.from_env`` raises ``ValueError`` naming the variable when a value cannot
be parsed, so a typo stops the engine at start instead of misbehaving later.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from frontdesk.engine.runtime.faults import Faults

# How long a token stays valid. Agents sign in for a working day; a customer token lives as
# long as a chat plausibly does, plus time to read the transcript afterwards.
STAFF_TOKEN_TTL_S = 12 * 3600
CUSTOMER_TOKEN_TTL_S = 24 * 3600

# A websocket must say hello this soon (PROTOCOL.md §4).
# a JSON request body larger than this is refused with 413 (uploads have their own limit)
MAX_JSON_BODY_BYTES = 1 << 20
HELLO_TIMEOUT_S = 10.0
# Rate limiter: a socket over its limit this long is closed with 1008 (PROTOCOL.md §4).
RATE_LIMIT_CLOSE_AFTER_S = 10.0
# Events waiting for one slow socket before the engine gives up on it (closes 1013).
SESSION_OUTBOX_SIZE = 1024
# Inbox sizes: big enough to absorb bursts, bounded so backpressure is visible.
ACTOR_INBOX_SIZE = 4096
# The Persister puts at most this many writes in one transaction.
MAX_BATCH_WRITES = 2000
# An open conversation keeps its newest messages in memory, at most this many and this many characters
# of their wire form, and reads older ones from the database (conversations/history.py).
HISTORY_TAIL_MESSAGES = 50
HISTORY_TAIL_CHARS = 64 * 1024


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``per_s`` seconds (one key of one throttle: edge/throttles.py)."""

    count: int
    per_s: float

    @classmethod
    def parse(cls, name: str, raw: str) -> Limit:
        """``N/SECONDS``, e.g. ``10/900``."""
        count, slash, per = raw.partition("/")
        try:
            limit = cls(int(count), float(per))
        except ValueError:
            raise ValueError(f"{name} must look like N/SECONDS (e.g. 10/900), got {raw!r}") from None
        if not slash or limit.count < 1 or limit.per_s <= 0:
            raise ValueError(f"{name} must look like N/SECONDS with N >= 1 and SECONDS > 0, got {raw!r}")
        return limit


# Defaults of the edge's throttles: generous for people, tight for loops.
LIMITS = {
    "limit_signin_failures": ("FRONTDESK_LIMIT_SIGNIN_FAILURES", Limit(10, 900)),
    "limit_signin_failures_per_address": ("FRONTDESK_LIMIT_SIGNIN_FAILURES_PER_ADDRESS", Limit(30, 900)),
    "limit_chats_per_address": ("FRONTDESK_LIMIT_CHATS_PER_ADDRESS", Limit(10, 600)),
    "limit_offline_per_address": ("FRONTDESK_LIMIT_OFFLINE_PER_ADDRESS", Limit(5, 3600)),
    "limit_mails_per_email": ("FRONTDESK_LIMIT_MAILS_PER_EMAIL", Limit(3, 3600)),
}


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def _env_networks(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of addresses or networks (``10.0.0.0/8``); empty means none."""
    raw = env.get(name)
    if raw is None:
        return default
    networks = tuple(part.strip() for part in raw.split(",") if part.strip())
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"{name} must list addresses or networks, got {network!r}") from None
    return networks


def _env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 0 or 1, got {raw!r}")


@dataclass(frozen=True)
class Config:
    database_url: str | None = None          # None: start the embedded PostgreSQL
    data_dir: Path = Path(".frontdesk")
    host: str = "127.0.0.1"
    port: int = 8080
    offer_timeout_ms: int = 30_000
    missed_offers_away: int = 2
    reconnect_grace_ms: int = 30_000
    customer_grace_ms: int = 60_000
    max_wait_s: int = 600
    rate_limit_per_s: int = 20                 # 0 = off
    rate_limit_burst: int = 40
    allowed_origins: tuple[str, ...] = ()      # empty = any Origin
    smtp_url: str | None = None
    check_email_domain: bool = False
    demo: bool = False
    limit_signin_failures: Limit = LIMITS["limit_signin_failures"][1]
    limit_signin_failures_per_address: Limit = LIMITS["limit_signin_failures_per_address"][1]
    limit_chats_per_address: Limit = LIMITS["limit_chats_per_address"][1]
    limit_offline_per_address: Limit = LIMITS["limit_offline_per_address"][1]
    limit_mails_per_email: Limit = LIMITS["limit_mails_per_email"][1]
    limit_sockets_per_address: int = 1000      # open websockets of one client address (0 = no limit)
    limit_sockets_per_token: int = 10          # open websockets of one token (0 = no limit)
    trusted_proxies: tuple[str, ...] = ("127.0.0.1/32", "::1/128")   # whose X-Forwarded-For is believed
    history_tail_messages: int = HISTORY_TAIL_MESSAGES
    history_tail_chars: int = HISTORY_TAIL_CHARS
    faults: Faults | None = None               # tests only: exceptions injected into actors' handlers

    @property
    def offer_timeout_s(self) -> float:
        return self.offer_timeout_ms / 1000

    @property
    def reconnect_grace_s(self) -> float:
        return self.reconnect_grace_ms / 1000

    @property
    def customer_grace_s(self) -> float:
        return self.customer_grace_ms / 1000

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        origins = tuple(o.strip() for o in env.get("FRONTDESK_ALLOWED_ORIGINS", "").split(",") if o.strip())
        rate = env.get("FRONTDESK_RATE_LIMIT", "")
        per_s, burst = 20, 40
        if rate:
            try:
                per_s = int(rate)
            except ValueError:
                raise ValueError(f"FRONTDESK_RATE_LIMIT must be an integer, got {rate!r}") from None
            burst = per_s * 2
        return cls(
            database_url=env.get("FRONTDESK_DATABASE_URL") or None,
            data_dir=Path(env.get("FRONTDESK_DATA_DIR") or ".frontdesk"),
            host=env.get("FRONTDESK_HOST") or "127.0.0.1",
            port=_env_int(env, "FRONTDESK_PORT", 8080),
            offer_timeout_ms=_env_int(env, "FRONTDESK_OFFER_TIMEOUT_MS", 30_000),
            missed_offers_away=_env_int(env, "FRONTDESK_MISSED_OFFERS_AWAY", 2),
            reconnect_grace_ms=_env_int(env, "FRONTDESK_RECONNECT_GRACE_MS", 30_000),
            customer_grace_ms=_env_int(env, "FRONTDESK_CUSTOMER_GRACE_MS", 60_000),
            max_wait_s=_env_int(env, "FRONTDESK_MAX_WAIT_S", 600),
            rate_limit_per_s=per_s,
            rate_limit_burst=burst,
            allowed_origins=origins,
            smtp_url=env.get("FRONTDESK_SMTP_URL") or None,
            check_email_domain=_env_bool(env, "FRONTDESK_CHECK_EMAIL_DOMAIN", False),
            trusted_proxies=_env_networks(env, "FRONTDESK_TRUSTED_PROXIES", ("127.0.0.1/32", "::1/128")),
            limit_sockets_per_address=_env_int(env, "FRONTDESK_LIMIT_SOCKETS_PER_ADDRESS", 1000),
            limit_sockets_per_token=_env_int(env, "FRONTDESK_LIMIT_SOCKETS_PER_TOKEN", 10),
        ).with_limits(env)

    def with_limits(self, env: Mapping[str, str]) -> Config:
        """A copy with the throttles' limits set in ``env`` (``FRONTDESK_LIMIT_*``)."""
        given = {field: Limit.parse(name, env[name]) for field, (name, _) in LIMITS.items() if env.get(name)}
        return replace(self, **given)  # type: ignore[arg-type]   # every value is a Limit field

    def with_overrides(self, **changes: object) -> Config:
        """A copy with the given fields replaced; ``None`` values are ignored (flag not given)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]
