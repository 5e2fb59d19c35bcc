"""The listener's lean path for ``POST /api/chats`` (engine/edge/chat_door.py): which request line
is a chat, and which could still become one (the path itself against a real engine:
tests/e2e/edge/test_chat_door.py)."""

from __future__ import annotations

import pytest

from frontdesk.engine.edge.chat_door import could_be_chat, is_chat_request


@pytest.mark.parametrize(("data", "chat", "maybe"), [
    (b"POST /api/chats HTTP/1.1\r\n", True, True),
    (b"POST /api/chats?lang=de HTTP/1.1\r\n", True, True),
    (b"POST /api/chats/x HTTP/1.1\r\n", False, False),
    (b"POST /api/chatsx HTTP/1.1\r\n", False, False),
    (b"GET /api/chats HTTP/1.1\r\n", False, False),
    (b"POST /api/ch", False, True),
    (b"", False, True),
    (b"POST /api/offline-requests HTTP/1.1\r\n", False, False),
])
def test_a_chat_request_is_known_by_its_request_line(data: bytes, chat: bool, maybe: bool) -> None:
    assert is_chat_request(data) is chat
    assert could_be_chat(data) is maybe
