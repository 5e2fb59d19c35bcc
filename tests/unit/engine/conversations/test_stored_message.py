"""A Conversation's in-memory message (conversations/model.py, StoredMessage): frames spliced from the
once-encoded body must be exactly what encoding the event as a whole gives (PROTOCOL.md §4)."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.engine.conversations.model import StoredMessage
from frontdesk.engine.protocol.frames import encode

texts = st.text(max_size=40)
options = st.none() | st.lists(st.fixed_dictionaries({"id": texts, "label": texts}), min_size=2, max_size=4)
attachments = st.lists(st.fixed_dictionaries({"id": texts, "filename": texts, "content_type": texts,
                                              "size": st.integers(0, 20 << 20)}), max_size=2)
wires = st.fixed_dictionaries({
    "conversation_id": texts, "seq": st.integers(1, 10**6), "id": texts,
    "sender": st.fixed_dictionaries({"kind": st.sampled_from(["customer", "agent", "system"]),
                                     "id": st.none() | texts, "name": texts}),
    "text": texts, "private": st.booleans(), "attachments": attachments, "options": options,
    "option_id": st.none() | texts, "at": texts})


@given(wires, st.none() | st.text(min_size=1, max_size=20), st.booleans())
def test_frames_are_the_whole_event_encoded(wire: dict[str, Any], client_id: str | None, own: bool) -> None:
    m = StoredMessage.of(wire, "customer", client_id)
    event = {"type": "message", **wire}
    if own and client_id is not None:
        event["client_id"] = client_id
    assert m.frame(own) == encode(event)
    embedded = {k: v for k, v in event.items() if k != "type"}
    assert m.json(own) == encode(embedded)
    assert encode({"messages": [orjson.Fragment(m.json(own))]}) == encode({"messages": [embedded]})
    assert orjson.loads(m.body) == wire
    assert (m.seq, m.id, m.private, m.text, m.client_id) == (wire["seq"], wire["id"], wire["private"], wire["text"],
                                                             client_id)
    assert m.options == (tuple((o["id"], o["label"]) for o in wire["options"]) if wire["options"] else None)
