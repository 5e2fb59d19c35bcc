"""The CSAT section's arithmetic (``dashboard/csat.py``) and the transcript's rating line and box
(``dashboard/transcript.py``): pure functions over rows, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from frontdesk.dashboard import csat, transcript


def row(key: str | None, **scores: int) -> dict[str, Any]:
    counts = {f"s{s}": scores.get(f"s{s}", 0) for s in csat.SCORES}
    total = sum(counts.values())
    mean = sum(s * counts[f"s{s}"] for s in csat.SCORES) / total if total else None
    return {"agent": key, "queue": key, "ratings": total, "mean_score": mean, "comments": 0,
            "satisfied": counts["s4"] + counts["s5"], **counts}


def test_csat_is_the_share_of_fours_and_fives_and_the_totals_weigh_every_rating_once() -> None:
    rows = [row("Agent One", s4=1, s5=3), row(None, s1=2, s3=2)]
    table = csat.summary(rows, "agent", "agent").set_index("agent")
    assert table.loc["Agent One", "CSAT"] == 1.0 and table.loc["Agent One", "mean score"] == 4.75
    assert table.loc[csat.NO_AGENT, "CSAT"] == 0.0 and table.loc[csat.NO_AGENT, "3★"] == 2
    assert csat.totals(rows) == {"ratings": 8, "csat": 0.5, "mean": (4 + 15 + 2 + 6) / 8}
    assert csat.totals([]) == {"ratings": 0, "csat": None, "mean": None}


def test_the_rating_is_an_event_after_the_end_and_a_box_with_its_comment_as_text() -> None:
    at = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    rating = {"score": 2, "comment": "<b>slow</b>\n\nreally", "via": "link", "created_at": at}
    event = transcript.rating_event(rating)
    assert transcript.event_text(event["kind"], event["who"], event["detail"]) == \
        "Rated ★★☆☆☆ 2/5 by the customer from a mail's link"
    ended = {"at": at, "kind": "ended", "who": "agent", "detail": "ended"}
    message = {"created_at": at, "seq": 9}
    assert [kind for kind, _ in transcript.timeline([message], [event, ended])] == ["message", "event", "event"]
    assert [item["kind"] for kind, item in transcript.timeline([message], [event, ended]) if kind == "event"] == [
        "ended", "rated"]
    box = transcript.rating_html(rating, "ended", UTC)
    assert "&lt;b&gt;slow&lt;/b&gt;&#10;&#10;really" in box and "fd-rating-low" in box and "\n" not in box
    assert transcript.rating_html(None, "resolved", UTC).endswith("Not rated by the customer.</div>")
    assert transcript.rating_html(None, "active", UTC) == ""
