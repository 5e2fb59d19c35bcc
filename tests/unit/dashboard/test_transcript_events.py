"""The lines the conversation log shows for transfers (dashboard/transcript.py ``event_text``)."""

from __future__ import annotations

import pytest

from frontdesk.dashboard.transcript import event_text


@pytest.mark.parametrize(("kind", "who", "detail", "line"), [
    ("transfer", "Agent One", "Agent Two", "Agent One asked to transfer the chat to Agent Two"),
    ("transfer", "Agent One", "anyone in queue sales", "Agent One asked to transfer the chat to anyone in queue sales"),
    ("transfer_accepted", "Agent Two", None, "Transfer accepted: Agent Two owns the chat now"),
    ("transfer_declined", "Agent Two", None, "Transfer declined by Agent Two"),
    ("transfer_expired", "queue sales", None, "Transfer to queue sales expired (not accepted in time, or cancelled)"),
    ("left", "Agent One", "transferred", "Agent One left — handed the chat over"),
    ("left", "Agent One", "owner", "Agent One left — the chat went back to the queue"),
])
def test_a_transfer_and_its_outcome_read_as_what_happened(kind: str, who: str, detail: str | None, line: str) -> None:
    assert event_text(kind, who, detail) == line
