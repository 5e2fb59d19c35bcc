"""Throttles at the edge: how often one client address, account or e-mail address may do a thing.

Each limit is a sliding window: at most ``limit`` events per ``per_s`` seconds for one key. A
refused event answers 429 ``rate_limited`` with ``Retry-After`` (PROTOCOL.md §13) and is not
counted. Keys live in memory, at most ``MAX_KEYS`` per limit (the least recently used go first),
so a flood from many addresses costs bounded memory; a restart forgets them.

The limits (defaults in ``runtime/config.py``, each ``FRONTDESK_LIMIT_*`` as ``N/SECONDS``):
failed sign-ins per account and per client address (an unknown account counts as a wrong
password), new chats and offline requests per client address, confirmation mails per e-mail
address. ``FRONTDESK_RATE_LIMIT=0`` turns every one off (benchmarks).

The client address is the socket's peer, or, when that peer is a trusted proxy
(``FRONTDESK_TRUSTED_PROXIES``, loopback by default), the right-most address of
``X-Forwarded-For`` that is not itself a trusted proxy: behind a load balancer every request
comes from the balancer, and a header from anyone else is not believed.

Customers' accounts have windows of their own: code requests per e-mail address (known or not:
the answer must not tell) and failed sign-ins per e-mail address and per client address, counted
apart from the staff's.

A hand-written window rather than the ``limits`` package: its in-memory storage expires entries
from a thread timer armed on every hit, and the engine idles at no CPU at all.
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

import trio

from frontdesk.core.errors import RateLimited
from frontdesk.engine.runtime.config import Config, Limit

MAX_KEYS = 50_000


def _is_trusted(address: str, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().split("%")[0])
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(peer: str, forwarded_for: str | None,
                   trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> str:
    """The address a request is throttled by (see the module's docstring)."""
    if not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    for hop in reversed(forwarded_for.split(",")):
        hop = hop.strip()
        if hop and not _is_trusted(hop, trusted):
            return hop[:64]
    return peer


class Window:
    """At most ``limit.count`` events per ``limit.per_s`` seconds for each key."""

    def __init__(self, limit: Limit, what: str, clock: Callable[[], float] = trio.current_time):
        self._limit = limit
        self._what = what
        self._clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
            if len(self._events) > MAX_KEYS:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        while events and now - events[0] >= self._limit.per_s:
            events.popleft()
        return events

    def check(self, key: str) -> None:
        """Raise ``RateLimited`` when ``key`` has used up its events, without counting one."""
        now = self._clock()
        events = self._recent(key, now)
        if len(events) >= self._limit.count:
            retry_after = max(1, math.ceil(events[0] + self._limit.per_s - now))
            raise RateLimited(f"too many {self._what}; try again in {retry_after} s", retry_after)

    def count(self, key: str) -> None:
        """Count one event of ``key``."""
        now = self._clock()
        self._recent(key, now).append(now)

    def hit(self, key: str) -> None:
        """``check``, then ``count``: the event happens only when allowed."""
        self.check(key)
        self.count(key)


@dataclass(frozen=True)
class Throttles:
    """The edge's limits; ``None`` where throttling is off."""

    signin_per_account: Window | None
    signin_per_address: Window | None
    chats_per_address: Window | None
    offline_per_address: Window | None
    mails_per_email: Window | None
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    sockets_per_address: int = 0       # open websockets at once (0: no limit)
    sockets_per_token: int = 0
    code_requests_per_email: Window | None = None
    customer_signin_per_email: Window | None = None
    customer_signin_per_address: Window | None = None

    @classmethod
    def from_config(cls, config: Config) -> Throttles:
        trusted = tuple(ipaddress.ip_network(n, strict=False) for n in config.trusted_proxies)
        if config.rate_limit_per_s <= 0:
            return cls(None, None, None, None, None, trusted)
        return cls(Window(config.limit_signin_failures, "failed sign-ins for this account"),
                   Window(config.limit_signin_failures_per_address, "failed sign-ins from this address"),
                   Window(config.limit_chats_per_address, "new chats from this address"),
                   Window(config.limit_offline_per_address, "offline requests from this address"),
                   Window(config.limit_mails_per_email, "mails to this e-mail address"), trusted,
                   sockets_per_address=max(0, config.limit_sockets_per_address),
                   sockets_per_token=max(0, config.limit_sockets_per_token),
                   code_requests_per_email=Window(config.limit_code_requests_per_email,
                                                  "codes for this e-mail address"),
                   customer_signin_per_email=Window(config.limit_customer_signin_failures,
                                                    "failed sign-ins for this e-mail address"),
                   customer_signin_per_address=Window(config.limit_customer_signin_failures_per_address,
                                                      "failed sign-ins from this address"))

    def address(self, peer: str, forwarded_for: str | None) -> str:
        return client_address(peer, forwarded_for, self.trusted_proxies)

    def check_signin(self, account: str, address: str) -> None:
        for window, key in ((self.signin_per_account, account.lower()), (self.signin_per_address, address)):
            if window is not None:
                window.check(key)

    def failed_signin(self, account: str, address: str) -> None:
        for window, key in ((self.signin_per_account, account.lower()), (self.signin_per_address, address)):
            if window is not None:
                window.count(key)

    def code_request(self, email: str) -> None:
        """One more sign-in code asked for ``email``, whether or not a customer has it."""
        if self.code_requests_per_email is not None:
            self.code_requests_per_email.hit(email.lower())

    def check_customer_signin(self, email: str, address: str) -> None:
        for window, key in ((self.customer_signin_per_email, email.lower()),
                            (self.customer_signin_per_address, address)):
            if window is not None:
                window.check(key)

    def failed_customer_signin(self, email: str, address: str) -> None:
        for window, key in ((self.customer_signin_per_email, email.lower()),
                            (self.customer_signin_per_address, address)):
            if window is not None:
                window.count(key)

    def new_chat(self, address: str) -> None:
        if self.chats_per_address is not None:
            self.chats_per_address.hit(address)

    def offline_request(self, address: str, email: str) -> None:
        if self.offline_per_address is not None:
            self.offline_per_address.check(address)
        if self.mails_per_email is not None:
            self.mails_per_email.check(email.lower())
        for window, key in ((self.offline_per_address, address), (self.mails_per_email, email.lower())):
            if window is not None:
                window.count(key)
