"""The part of a conversation's history its actor keeps in memory: the newest messages, and what it
must know of all of them.

Every message is in the database before anyone hears of it (an ``ack`` means committed), so the
actor needs in memory only what it reads often: the newest messages (what a reconnecting client
asks for), within a bound on their number and size, so that a long chat, or a customer flooding
large messages, holds a bounded amount of memory however long the conversation lasts. Of the whole
history it keeps what its logic reads on every send: the last seq, the last seq a customer may
see, the newest option menu (which ``option_id`` answers), and a fingerprint of every
``(sender, client_id)`` no longer in the tail, so that a new send (nearly every send) is known to
be new without a query, and only a retry of an old one is looked up in the database.

``after`` answers from memory or says (None) that the messages asked for reach back past the
tail; the actor then reads them from the database. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from frontdesk.engine.conversations.model import Menu, StoredHistory, StoredMessage
from frontdesk.engine.runtime.config import HISTORY_TAIL_CHARS, HISTORY_TAIL_MESSAGES

Key = tuple[str, str]       # (sender key, client_id): a sender's client_ids are unique in a conversation


@dataclass(frozen=True)
class TailLimits:
    """How much of a conversation's history stays in memory: the newest ``messages`` at most, and
    fewer when their wire forms pass ``chars`` (the newest message always stays)."""

    messages: int = HISTORY_TAIL_MESSAGES
    chars: int = HISTORY_TAIL_CHARS


DEFAULT_TAIL = TailLimits()


class History:
    def __init__(self, limits: TailLimits, messages: Iterable[StoredMessage] = (),
                 stored: StoredHistory | None = None):
        """``messages``: the newest messages in seq order, without a gap up to the last; ``stored``:
        what the database holds of the whole history, for a conversation loaded from it."""
        self._limits = limits
        self._tail: deque[StoredMessage] = deque()
        self._chars = 0
        self._kept: dict[Key, StoredMessage] = {}
        self._dropped_keys: set[int] = set()
        self._kept_after = 0           # messages up to this seq are in the database only
        self.last_seq = 0
        self.last_public_seq = 0
        self.menu: Menu | None = None   # the newest public message's option menu
        if stored is not None:
            self.last_public_seq = stored.last_public_seq
            self.menu = stored.menu
            self._dropped_keys.update(hash(key) for key in stored.keys)
        for i, m in enumerate(messages):
            if i == 0:
                self._kept_after = self.last_seq = m.seq - 1
            self.append(m)

    def __len__(self) -> int:
        """Messages kept in memory."""
        return len(self._tail)

    def append(self, m: StoredMessage) -> None:
        """The conversation's next message (seq ``last_seq + 1``), once stored."""
        self._tail.append(m)
        self._chars += len(m.body)
        self.last_seq = m.seq
        if not m.private:
            self.last_public_seq = m.seq
            if m.options:
                self.menu = m.options
        if m.client_id is not None:
            self._kept[(m.sender_key, m.client_id)] = m
        while len(self._tail) > 1 and (len(self._tail) > self._limits.messages or self._chars > self._limits.chars):
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        old = self._tail.popleft()
        self._chars -= len(old.body)
        self._kept_after = old.seq
        if old.client_id is not None:
            key = (old.sender_key, old.client_id)
            del self._kept[key]
            self._dropped_keys.add(hash(key))

    @property
    def oldest_kept_seq(self) -> int:
        """The seq before the oldest message kept in memory."""
        return self._kept_after

    def after(self, seq: int) -> list[StoredMessage] | None:
        """The messages with a higher seq than ``seq``, oldest first; None when some of them are no
        longer in memory (read them from the database)."""
        if seq < self._kept_after:
            return None
        return [m for m in self._tail if m.seq > seq]

    def kept(self, key: Key) -> StoredMessage | None:
        """The message in memory that was sent with this ``(sender key, client_id)``."""
        return self._kept.get(key)

    def may_hold_older(self, key: Key) -> bool:
        """Whether a message older than the tail may have been sent with this key: True for every one
        that was, and (rarely: a fingerprint is a hash) for one that was not; False means new."""
        return hash(key) in self._dropped_keys
