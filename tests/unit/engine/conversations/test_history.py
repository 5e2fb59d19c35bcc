"""What a Conversation keeps of its history in memory (conversations/history.py): the newest messages
within their bounds, and of the whole history what its logic reads on every send. Whatever reaches
back past the tail is announced (``after`` is None) rather than answered in part."""

from __future__ import annotations

from typing import Any

from frontdesk.engine.conversations.history import History, TailLimits
from frontdesk.engine.conversations.model import StoredHistory, StoredMessage


def message(seq: int, *, private: bool = False, sender_key: str = "customer", client_id: str | None = None,
            text: str = "", options: list[dict[str, str]] | None = None) -> StoredMessage:
    wire: dict[str, Any] = {
        "conversation_id": "c", "seq": seq, "id": f"m{seq}",
        "sender": {"kind": "customer" if sender_key == "customer" else "agent",
                   "id": None if sender_key == "customer" else sender_key, "name": "N"},
        "text": text or f"text {seq}", "private": private, "attachments": [], "options": options,
        "option_id": None, "at": "2026-12-07T00:00:00.000Z"}
    return StoredMessage.of(wire, sender_key, client_id if client_id is not None else f"k{seq}")


def filled(limits: TailLimits, count: int, **kwargs: Any) -> History:
    history = History(limits)
    for seq in range(1, count + 1):
        history.append(message(seq, **kwargs))
    return history


def test_every_message_after_a_seq_comes_from_memory_while_the_history_is_short() -> None:
    history = filled(TailLimits(messages=10), 6)
    for seq in range(0, 7):
        assert [m.seq for m in history.after(seq) or []] == list(range(seq + 1, 7))
    assert history.after(0) is not None


def test_a_seq_older_than_the_tail_is_announced_not_answered_in_part() -> None:
    history = filled(TailLimits(messages=3), 10)
    assert len(history) == 3
    assert [m.seq for m in history.after(7) or []] == [8, 9, 10]     # the whole tail: complete
    assert [m.seq for m in history.after(9) or []] == [10]
    assert history.after(10) == []
    for older in (0, 3, 6):
        assert history.after(older) is None                          # 7 and below are in the database only


def test_the_tail_is_bounded_by_characters_and_keeps_the_newest_message_whatever_its_size() -> None:
    big = "x" * 5000
    history = History(TailLimits(messages=50, chars=12_000))
    for seq in range(1, 6):
        history.append(message(seq, text=big))
    assert [m.seq for m in history.after(3) or []] == [4, 5]
    assert history.after(2) is None
    alone = History(TailLimits(messages=50, chars=100))
    alone.append(message(1, text=big))
    alone.append(message(2, text=big))
    assert [m.seq for m in alone.after(1) or []] == [2]


def test_last_seqs_count_every_message_and_the_public_ones_apart() -> None:
    history = History(TailLimits(messages=2))
    history.append(message(1))
    history.append(message(2, private=True, sender_key="agent-a"))
    assert (history.last_seq, history.last_public_seq) == (2, 1)
    history.append(message(3, private=True, sender_key="agent-a"))
    history.append(message(4, private=True, sender_key="agent-a"))   # seq 1 has left the tail
    assert (history.last_seq, history.last_public_seq) == (4, 1)
    history.append(message(5))
    assert (history.last_seq, history.last_public_seq) == (5, 5)


def test_a_sent_client_id_is_found_in_the_tail_and_flagged_after_it_left() -> None:
    history = filled(TailLimits(messages=3), 10)
    assert history.kept(("customer", "k9")) == message(9)
    assert history.kept(("customer", "k2")) is None
    assert all(history.may_hold_older(("customer", f"k{seq}")) for seq in range(1, 8))
    assert not history.may_hold_older(("customer", "never sent"))
    assert not history.may_hold_older(("agent-a", "k2"))           # another sender's scope


def test_the_newest_public_menu_is_known_after_it_left_the_tail() -> None:
    menu = [{"id": "a", "label": "Yes"}, {"id": "b", "label": "No"}]
    hidden = [{"id": "x", "label": "Private"}, {"id": "y", "label": "Menu"}]
    history = History(TailLimits(messages=2))
    history.append(message(1))
    history.append(message(2, sender_key="agent-a", options=menu))
    history.append(message(3, sender_key="agent-a", private=True, options=hidden))
    for seq in range(4, 9):
        history.append(message(seq))
    assert history.menu == (("a", "Yes"), ("b", "No"))


def test_a_loaded_history_starts_at_its_first_kept_seq_and_knows_the_rest_from_the_database() -> None:
    stored = StoredHistory(question="q", last_public_seq=7, menu=(("a", "Yes"),),
                           keys=[("customer", f"k{seq}") for seq in range(1, 11)])
    tail = [message(seq, private=True, sender_key="agent-a") for seq in (8, 9, 10)]
    history = History(TailLimits(messages=5), tail, stored)
    assert (history.last_seq, history.last_public_seq, history.menu) == (10, 7, (("a", "Yes"),))
    assert [m.seq for m in history.after(7) or []] == [8, 9, 10]
    assert history.after(6) is None
    assert history.may_hold_older(("customer", "k3"))
    history.append(message(11))
    assert (history.last_seq, history.last_public_seq) == (11, 11)


def test_an_empty_history_has_nothing_after_zero() -> None:
    history = History(TailLimits())
    assert (history.last_seq, history.last_public_seq, history.menu) == (0, 0, None)
    assert history.after(0) == []
