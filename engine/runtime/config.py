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
from urllib.parse import urlsplit

from frontdesk.engine.runtime.faults import Faults

# How long a token stays valid. Agents sign in for a working day; a customer token lives as
# long as a chat plausibly does, plus time to read the transcript afterwards.
STAFF_TOKEN_TTL_S = 12 * 3600
CUSTOMER_TOKEN_TTL_S = 24 * 3600
# A signed-in customer (an account token) comes back over days, not within one chat; a stolen
# token still ends within the week, and signing out everywhere ends it at once.
ACCOUNT_TOKEN_TTL_S = 7 * 24 * 3600
# A token that may only set a password: time enough to choose one, not to keep.
RESTRICTED_TOKEN_TTL_S = 15 * 60

# One-time codes of customers (PROTOCOL.md §6, §14): sign-in codes are mailed and typed at once;
# an activation code waits in an SMS or a mail until the customer sets the account up, so it has
# more digits for its longer life. Each code takes this many tries, then it is void.
CODE_DIGITS = 6
ACTIVATION_CODE_DIGITS = 8
CODE_TRIES = 5
MIN_PASSWORD_CHARS = 10

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
    """At most ``count`` per ``per_s`` seconds for one key of one throttle (edge/throttles.py): events
    in a sliding window, or, for frames, messages and upload bytes, a bucket that holds ``count`` and
    refills at ``count`` per ``per_s``."""

    count: int
    per_s: float

    @classmethod
    def parse(cls, name: str, raw: str) -> Limit:
        """``N/SECONDS``, e.g. ``10/900``; N may end in KiB, MiB or GiB (``200MiB/3600``)."""
        count, slash, per = raw.partition("/")
        try:
            limit = cls(_count(count), float(per))
        except ValueError:
            raise ValueError(f"{name} must look like N/SECONDS (e.g. 10/900), got {raw!r}") from None
        if not slash or limit.count < 1 or limit.per_s <= 0:
            raise ValueError(f"{name} must look like N/SECONDS with N >= 1 and SECONDS > 0, got {raw!r}")
        return limit


_UNITS = {"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}


def _count(raw: str) -> int:
    raw = raw.strip()
    unit = _UNITS.get(raw[-3:].lower(), 1)
    return int(raw[:-3] if unit > 1 else raw) * unit


MIB = 1 << 20
# Defaults of the edge's throttles: generous for people, tight for loops.
LIMITS = {
    "limit_signin_failures": ("FRONTDESK_LIMIT_SIGNIN_FAILURES", Limit(10, 900)),
    "limit_signin_failures_per_address": ("FRONTDESK_LIMIT_SIGNIN_FAILURES_PER_ADDRESS", Limit(30, 900)),
    # customers' accounts (PROTOCOL.md §14): code requests per e-mail address, failed sign-ins
    # (a wrong code or password) per e-mail address and per client address
    "limit_code_requests_per_email": ("FRONTDESK_LIMIT_CODE_REQUESTS_PER_EMAIL", Limit(5, 3600)),
    "limit_customer_signin_failures": ("FRONTDESK_LIMIT_CUSTOMER_SIGNIN_FAILURES", Limit(10, 900)),
    "limit_customer_signin_failures_per_address": ("FRONTDESK_LIMIT_CUSTOMER_SIGNIN_FAILURES_PER_ADDRESS",
                                                   Limit(30, 900)),
    "limit_chats_per_address": ("FRONTDESK_LIMIT_CHATS_PER_ADDRESS", Limit(10, 600)),
    "limit_offline_per_address": ("FRONTDESK_LIMIT_OFFLINE_PER_ADDRESS", Limit(5, 3600)),
    "limit_mails_per_email": ("FRONTDESK_LIMIT_MAILS_PER_EMAIL", Limit(3, 3600)),
    # what one socket may (20 frames/s, bursts of 40), for all of a token's sockets together
    "limit_frames_per_token": ("FRONTDESK_LIMIT_FRAMES_PER_TOKEN", Limit(40, 2)),
    # a person writes far below one message a second; a paste of many lines is a burst
    "limit_messages_per_conversation": ("FRONTDESK_LIMIT_MESSAGES_PER_CONVERSATION", Limit(60, 60)),
    # five files of the largest size (20 MiB) at once are a customer's worst case, an agent's ten
    "limit_upload_bytes_per_token": ("FRONTDESK_LIMIT_UPLOAD_BYTES_PER_TOKEN", Limit(200 * MIB, 3600)),
    "limit_upload_bytes_per_conversation": ("FRONTDESK_LIMIT_UPLOAD_BYTES_PER_CONVERSATION", Limit(100 * MIB, 3600)),
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


def _env_url(env: Mapping[str, str], name: str) -> str | None:
    """An absolute http(s) URL without query or fragment, without its trailing slash; None when unset."""
    raw = env.get(name)
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"{name} must look like https://host[:port][/path], got {raw!r}")
    try:
        _ = parts.port      # raises on a port that is no number
    except ValueError:
        raise ValueError(f"{name} has a bad port: {raw!r}") from None
    return raw.rstrip("/")


def _env_positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = _env_int(env, name, default)
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value}")
    return value


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
    mail_from: str = "Frontdesk <frontdesk@localhost>"   # the From header of every mail (mail/mailer.py)
    check_email_domain: bool = False
    sms_url: str | None = None                 # None: SMS stay queued in the sms_outbox table
    code_ttl_s: int = 600                      # a sign-in code's life
    activation_code_ttl_s: int = 72 * 3600     # an activation code's life
    demo: bool = False
    limit_signin_failures: Limit = LIMITS["limit_signin_failures"][1]
    limit_signin_failures_per_address: Limit = LIMITS["limit_signin_failures_per_address"][1]
    limit_code_requests_per_email: Limit = LIMITS["limit_code_requests_per_email"][1]
    limit_customer_signin_failures: Limit = LIMITS["limit_customer_signin_failures"][1]
    limit_customer_signin_failures_per_address: Limit = LIMITS["limit_customer_signin_failures_per_address"][1]
    limit_chats_per_address: Limit = LIMITS["limit_chats_per_address"][1]
    limit_offline_per_address: Limit = LIMITS["limit_offline_per_address"][1]
    limit_mails_per_email: Limit = LIMITS["limit_mails_per_email"][1]
    limit_frames_per_token: Limit = LIMITS["limit_frames_per_token"][1]
    limit_messages_per_conversation: Limit = LIMITS["limit_messages_per_conversation"][1]
    limit_upload_bytes_per_token: Limit = LIMITS["limit_upload_bytes_per_token"][1]
    limit_upload_bytes_per_conversation: Limit = LIMITS["limit_upload_bytes_per_conversation"][1]
    limit_sockets_per_address: int = 1000      # open websockets of one client address (0 = no limit)
    limit_sockets_per_token: int = 10          # open websockets of one token (0 = no limit)
    trusted_proxies: tuple[str, ...] = ("127.0.0.1/32", "::1/128")   # whose X-Forwarded-For is believed
    public_url: str | None = None              # base of links in mails and SMS; None: http://<host>:<port>
    notify_after_s: float = 120.0              # an agent's unread message → the customer's mail
    agent_remind_after_s: float = 300.0        # a customer's message unread by the owner → reminder
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
    def link_base(self) -> str:
        """Where customers reach the engine: every link in a mail or SMS starts with it (PROTOCOL.md
        §14): ``FRONTDESK_PUBLIC_URL``, else the address the engine binds."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

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
        # a token may send what one socket may, unless its own variable says otherwise
        per_token = Limit(burst, 2) if per_s > 0 else LIMITS["limit_frames_per_token"][1]
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
            mail_from=env.get("FRONTDESK_MAIL_FROM") or "Frontdesk <frontdesk@localhost>",
            check_email_domain=_env_bool(env, "FRONTDESK_CHECK_EMAIL_DOMAIN", False),
            sms_url=_env_url(env, "FRONTDESK_SMS_URL"),
            code_ttl_s=_env_positive(env, "FRONTDESK_CODE_TTL_S", 600),
            activation_code_ttl_s=_env_positive(env, "FRONTDESK_ACTIVATION_CODE_TTL_S", 72 * 3600),
            trusted_proxies=_env_networks(env, "FRONTDESK_TRUSTED_PROXIES", ("127.0.0.1/32", "::1/128")),
            limit_sockets_per_address=_env_int(env, "FRONTDESK_LIMIT_SOCKETS_PER_ADDRESS", 1000),
            limit_sockets_per_token=_env_int(env, "FRONTDESK_LIMIT_SOCKETS_PER_TOKEN", 10),
            public_url=_env_url(env, "FRONTDESK_PUBLIC_URL"),
            notify_after_s=_env_int(env, "FRONTDESK_NOTIFY_AFTER_S", 120),
            agent_remind_after_s=_env_int(env, "FRONTDESK_AGENT_REMIND_AFTER_S", 300),
            limit_frames_per_token=per_token,
        ).with_limits(env)

    def with_limits(self, env: Mapping[str, str]) -> Config:
        """A copy with the throttles' limits set in ``env`` (``FRONTDESK_LIMIT_*``)."""
        given = {field: Limit.parse(name, env[name]) for field, (name, _) in LIMITS.items() if env.get(name)}
        return replace(self, **given)  # type: ignore[arg-type]   # every value is a Limit field

    def with_overrides(self, **changes: object) -> Config:
        """A copy with the given fields replaced; ``None`` values are ignored (flag not given)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]
