"""Throttles at the edge: how often one client address, account, e-mail address, token or
conversation may do a thing.

Two kinds of limit, each ``N/SECONDS`` (defaults in ``runtime/config.py``, each a ``FRONTDESK_LIMIT_*``
variable; ``FRONTDESK_RATE_LIMIT=0`` turns every one off, for benchmarks):

- ``Window``: at most N events per SECONDS for one key, in a sliding window — failed sign-ins per
  account and per client address (an unknown account counts as a wrong password), new chats and
  offline requests per client address, confirmation mails per e-mail address. Few events, each
  remembered until it leaves the window.
- ``Buckets``: a token bucket per key that holds N and refills at N per SECONDS — websocket frames
  per token (all of its sockets together), messages into a conversation from one sender, upload
  bytes per token and per conversation. Frames and bytes come too often to remember each; a
  bucket is two numbers per key.

Besides, each socket has a ``RateLimiter`` of its own (``FRONTDESK_RATE_LIMIT`` frames a second),
which also keeps how long the socket has been over its limits (the Session closes it after 10 s),
and ``sockets_per_*`` bound how many websockets one address and one token hold open
(``edge/sessions.py`` counts them).

A refused event is not counted: over HTTP it answers 429 ``rate_limited`` with ``Retry-After``
(PROTOCOL.md §13), on a websocket an ``error`` ``rate_limited`` (the Session). Keys live in memory,
at most ``MAX_KEYS`` per limit (the least recently used go first), so a flood from many keys
costs bounded memory; a restart forgets them.

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
from collections.abc import AsyncIterable, AsyncIterator, Callable
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


class RateLimiter:
    """One socket's frames: a token bucket of ``rate`` frames per second with bursts of ``burst``
    (rate 0: off), and how long the socket has been over its limits (``over_for``): a frame refused
    by another limit (its token's) counts as ``refused`` too."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = trio.current_time()
        self.over_since: float | None = None
        self.last_refused = 0.0

    def allow(self, now: float) -> bool:
        if self.rate <= 0:
            return True
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            # a frame let through by the refill does not end the overload; a second without refusals does
            if self.over_since is not None and now - self.last_refused >= 1.0:
                self.over_since = None
            return True
        self.refused(now)
        return False

    def refused(self, now: float) -> None:
        if self.over_since is None:
            self.over_since = now
        self.last_refused = now

    def over_for(self, now: float) -> float:
        return 0.0 if self.over_since is None else now - self.over_since


class Buckets:
    """A token bucket for each key: it holds up to ``limit.count`` and refills at ``limit.count``
    per ``limit.per_s`` seconds; taking more than it holds is refused and takes nothing."""

    def __init__(self, limit: Limit, clock: Callable[[], float] = trio.current_time):
        self._capacity = float(limit.count)
        self._rate = limit.count / limit.per_s
        self._clock = clock
        self._levels: OrderedDict[str, list[float]] = OrderedDict()    # key -> [level, when it was]

    def _bucket(self, key: str) -> list[float]:
        now = self._clock()
        bucket = self._levels.get(key)
        if bucket is None:
            bucket = self._levels[key] = [self._capacity, now]
            if len(self._levels) > MAX_KEYS:
                self._levels.popitem(last=False)
        else:
            self._levels.move_to_end(key)
            bucket[0] = min(self._capacity, bucket[0] + (now - bucket[1]) * self._rate)
            bucket[1] = now
        return bucket

    def take(self, key: str, amount: float = 1.0) -> float:
        """Take ``amount`` from ``key``'s bucket: 0.0 when it held that much, else the seconds until
        it will (and nothing is taken)."""
        bucket = self._bucket(key)
        if bucket[0] >= amount:
            bucket[0] -= amount
            return 0.0
        return self._until(bucket, amount)

    def wait_s(self, key: str, amount: float) -> float:
        """The seconds until ``key``'s bucket holds ``amount`` (0.0: it does); nothing is taken. An
        amount over the capacity waits for a full bucket."""
        bucket = self._bucket(key)
        return 0.0 if bucket[0] >= amount else self._until(bucket, amount)

    def _until(self, bucket: list[float], amount: float) -> float:
        return max(0.0, min(amount, self._capacity) - bucket[0]) / self._rate

    def give_back(self, key: str, amount: float) -> None:
        """Return what was taken for something that did not happen after all."""
        bucket = self._bucket(key)
        bucket[0] = min(self._capacity, bucket[0] + amount)


def _retry_after(wait_s: float) -> int:
    return max(1, math.ceil(wait_s))


@dataclass
class UploadBudget:
    """The bytes of one upload, taken from its token's and its conversation's buckets as they arrive.

    ``check`` refuses at once, before a byte is read, when a bucket does not hold what the request
    announces (its Content-Length); ``metered`` refuses as soon as the bytes read pass what a bucket
    holds, and then gives back what the upload had taken. Both raise ``RateLimited``, whose
    Retry-After is when the whole upload would fit. An upload that fails in any other way calls
    ``give_back``: a refused upload is not counted."""

    budgets: list[tuple[Buckets, str]]
    announced: int | None
    taken: int = 0

    def check(self) -> None:
        announced = max(1, self.announced or 0)
        if any(buckets.wait_s(key, announced) for buckets, key in self.budgets):
            raise self._refusal(announced)

    async def metered(self, body: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        async for chunk in body:
            self._take(len(chunk))
            yield chunk

    def give_back(self) -> None:
        for buckets, key in self.budgets:
            buckets.give_back(key, self.taken)
        self.taken = 0

    def _take(self, amount: int) -> None:
        for i, (buckets, key) in enumerate(self.budgets):
            if buckets.take(key, amount):
                for earlier, earlier_key in self.budgets[:i]:
                    earlier.give_back(earlier_key, amount)
                read = self.taken + amount
                self.give_back()
                raise self._refusal(max(self.announced or 0, read))
        self.taken += amount

    def _refusal(self, amount: int) -> RateLimited:
        retry_after = _retry_after(max(buckets.wait_s(key, amount) for buckets, key in self.budgets))
        return RateLimited(f"too many upload bytes; try again in {retry_after} s", retry_after)


@dataclass(frozen=True, kw_only=True)
class Throttles:
    """The edge's limits; ``None`` where throttling is off."""

    signin_per_account: Window | None = None
    signin_per_address: Window | None = None
    chats_per_address: Window | None = None
    offline_per_address: Window | None = None
    mails_per_email: Window | None = None
    frames_per_token: Buckets | None = None
    messages_per_conversation: Buckets | None = None
    upload_bytes_per_token: Buckets | None = None
    upload_bytes_per_conversation: Buckets | None = None
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
            return cls(trusted_proxies=trusted)
        return cls(
            signin_per_account=Window(config.limit_signin_failures, "failed sign-ins for this account"),
            signin_per_address=Window(config.limit_signin_failures_per_address, "failed sign-ins from this address"),
            chats_per_address=Window(config.limit_chats_per_address, "new chats from this address"),
            offline_per_address=Window(config.limit_offline_per_address, "offline requests from this address"),
            mails_per_email=Window(config.limit_mails_per_email, "mails to this e-mail address"),
            frames_per_token=Buckets(config.limit_frames_per_token),
            messages_per_conversation=Buckets(config.limit_messages_per_conversation),
            upload_bytes_per_token=Buckets(config.limit_upload_bytes_per_token),
            upload_bytes_per_conversation=Buckets(config.limit_upload_bytes_per_conversation),
            code_requests_per_email=Window(config.limit_code_requests_per_email, "codes for this e-mail address"),
            customer_signin_per_email=Window(config.limit_customer_signin_failures,
                                             "failed sign-ins for this e-mail address"),
            customer_signin_per_address=Window(config.limit_customer_signin_failures_per_address,
                                               "failed sign-ins from this address"),
            trusted_proxies=trusted,
            sockets_per_address=max(0, config.limit_sockets_per_address),
            sockets_per_token=max(0, config.limit_sockets_per_token))

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

    def frame_of(self, token: str) -> bool:
        """One more websocket frame of ``token`` (any of its sockets): False when it is over its limit."""
        return self.frames_per_token is None or not self.frames_per_token.take(token)

    def message_to(self, conversation_id: str, sender: str, ref: str | None) -> None:
        """One more message into ``conversation_id`` from ``sender`` (``customer`` or an agent's id):
        a customer who floods its chat does not silence its agents."""
        if self.messages_per_conversation is not None:
            wait_s = self.messages_per_conversation.take(f"{conversation_id} {sender}")
            if wait_s:
                raise RateLimited(f"too many messages; try again in {_retry_after(wait_s)} s",
                                  _retry_after(wait_s), ref=ref)

    def upload(self, token: str, conversation_id: str | None, announced: int | None) -> UploadBudget:
        """The budget of one upload by ``token`` (into ``conversation_id``, a customer's; an agent's
        upload belongs to no conversation until it is sent), already checked against ``announced``
        (the request's Content-Length)."""
        budgets = [(b, k) for b, k in ((self.upload_bytes_per_token, token),
                                       (self.upload_bytes_per_conversation, conversation_id))
                   if b is not None and k is not None]
        budget = UploadBudget(budgets, announced)
        budget.check()
        return budget
