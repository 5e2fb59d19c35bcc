"""What the steps of an import hand each other: a mail as read, a message that was skipped, a
thread with its customer. Plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Party:
    """A name and an address of a From, To or Cc header."""

    name: str
    email: str

    @property
    def key(self) -> str:
        """The address as compared: e-mail addresses are matched case-insensitively."""
        return self.email.lower()

    @property
    def shown(self) -> str:
        return self.name or self.email


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    staged: Path            # where the bytes wait until their message is stored


@dataclass(frozen=True, slots=True)
class Mail:
    source_id: str                  # the Message-ID, or a hash of the message when it has none
    message_id: str | None
    parents: tuple[str, ...]        # the Message-IDs of In-Reply-To and References
    subject: str
    sender: Party
    recipients: tuple[Party, ...]   # To, then Cc
    date: datetime                  # aware, UTC
    text: str
    attachments: tuple[Attachment, ...]
    origin: str                     # where it was read: "path" or "path:number"
    order: int                      # its place in the import, which orders mails of the same date


@dataclass(frozen=True, slots=True)
class Skipped:
    origin: str
    reason: str
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Thread:
    customer: Party
    mails: tuple[Mail, ...]         # in date order
