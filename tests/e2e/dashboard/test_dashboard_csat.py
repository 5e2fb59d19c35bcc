"""Customer satisfaction on the dashboard: the reports' CSAT section per agent, queue and period
with plots and CSV exports (an empty state without ratings), and each transcript's rating and
comment, shown as typed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from dashkit import (  # noqa: F401  (fixtures)
    IMAGE_URL,
    MARKUP,
    Rendered,
    Seed,
    dashboard_env_fixture,
    seed_fixture,
    signed_in,
    texts,
)

from frontdesk.dashboard import transcript

COMMENT = f"Helpful!\n\n{MARKUP}"


def rate(seed: Seed, conversation_id: str, score: int, comment: str | None, agent: str | None, queue: str,
         ago: timedelta, via: str = "customer") -> None:
    seed.sql("INSERT INTO ratings (id, conversation_id, score, comment, agent_id, queue, via, created_at) "
             "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
             uuid.uuid4(), conversation_id, score, comment, agent, queue, via, datetime.now(UTC) - ago)


def ended(seed: Seed, queue: str, agent: str | None, ago: timedelta) -> str:
    cid = str(uuid.uuid4())
    at = datetime.now(UTC) - ago
    seed.sql("INSERT INTO conversations (id, queue, status, customer_name, customer_email, queue_key, owner_id, "
             "created_at, ended_at, ended_by, end_reason) VALUES (%s, %s, 'ended', 'Rita Rater', 'rita@example.com', "
             "7, %s, %s, %s, 'customer', 'ended')", cid, queue, agent, at, at + timedelta(minutes=3))
    return cid


def rated_seed(seed: Seed) -> None:
    """Four ratings in the last 30 days (agent1 4 and 5 in support, agent3 1 in sales, nobody 2 in
    support) and one older than the period."""
    a1, a3 = seed.staff["agent1@demo.test"], seed.staff["agent3@demo.test"]
    rate(seed, seed.c_ended, 4, COMMENT, a1, "support", timedelta(hours=47))
    rate(seed, ended(seed, "support", a1, timedelta(days=1)), 5, None, a1, "support", timedelta(days=1), "link")
    rate(seed, ended(seed, "sales", a3, timedelta(hours=5)), 1, "Nobody understood me", a3, "sales",
         timedelta(hours=4), "account")
    rate(seed, ended(seed, "support", None, timedelta(days=3)), 2, None, None, "support", timedelta(days=3))
    rate(seed, ended(seed, "support", a1, timedelta(days=60)), 1, "old", a1, "support", timedelta(days=60))


def test_without_ratings_the_csat_section_says_so(dashboard_env: Seed) -> None:
    at = signed_in(dashboard_env, "reports.py")
    assert not at.error, [e.value for e in at.error]
    assert any("No ratings in this period" in str(i.value) for i in at.info)
    assert not [b for b in at.get("download_button") if b.key and b.key.startswith("csv_csat")]


def test_csat_per_agent_queue_and_day_with_plots_csv_and_comments_as_typed(dashboard_env: Seed) -> None:
    rated_seed(dashboard_env)
    at = signed_in(dashboard_env, "reports.py")
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["CSAT"] == "50.0%" and metrics["Ratings"] == "4" and metrics["Mean score"] == "3.00 / 5"
    charts = [str(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(charts) == 9 + 3 and sum("stars" in c for c in charts) == 2    # the reports above, then CSAT
    csv = {b.key for b in at.get("download_button") if b.key and b.key.startswith("csv_csat")}
    assert csv == {"csv_csat_per_agent", "csv_csat_per_queue", "csv_csat_per_day", "csv_csat_comments"}

    # the section's tables come last: per agent, per queue, comments
    agent_table, queue_table, comments = (df.value for df in list(at.dataframe)[-3:])
    agents = agent_table.set_index("agent")
    assert agents.loc["Agent One", "ratings"] == 2 and agents.loc["Agent One", "CSAT"] == 1.0
    assert agents.loc["Agent One", "4★"] == 1 and agents.loc["Agent One", "5★"] == 1
    assert agents.loc["Agent Three", "1★"] == 1 and agents.loc["Agent Three", "CSAT"] == 0.0
    assert agents.loc["(no agent)", "2★"] == 1
    queues = queue_table.set_index("queue")
    assert queues.loc["support", "ratings"] == 3 and queues.loc["sales", "mean score"] == 1.0
    assert list(comments["comment"]) == ["Nobody understood me", COMMENT]   # newest first, as typed
    assert list(comments["score"]) == [1, 4]

    # the period and queue filters apply
    at.multiselect(key="rep_queues").set_value(["sales"]).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Ratings"] == "1" and metrics["CSAT"] == "0.0%"
    at.date_input(key="rep_from").set_value(datetime.now(UTC).date() - timedelta(days=90)).run()
    at.multiselect(key="rep_queues").set_value([]).run()
    assert {m.label: m.value for m in at.metric}["Ratings"] == "5"
    assert "csv_csat_per_week" in {b.key for b in at.get("download_button")}


def test_a_transcript_shows_its_rating_and_comment_as_typed(dashboard_env: Seed) -> None:
    seed = dashboard_env
    rated_seed(seed)
    at = signed_in(seed, "conversations.py", conversation=seed.c_ended)
    boxes = [Rendered(str(m.value)) for m in at.markdown if 'class="fd-rating' in str(m.value)]
    assert len(boxes) == 1
    box = boxes[0]
    assert "★★★★☆" in box.text and "4/5" in box.text and COMMENT in box.text      # line breaks kept
    assert not {tag for tag, _ in box.elements} & {"img", "a", "script", "strong"}
    assert IMAGE_URL not in str(box.elements)
    page = texts(at)
    assert "Rated ★★★★☆ 4/5 by the customer in the chat" in page
    assert page.index("Ended by the agent") < page.index("Rated ★★★★☆")


def test_the_conversation_log_shows_each_rating_as_stars(dashboard_env: Seed) -> None:
    rated_seed(dashboard_env)
    at = signed_in(dashboard_env, "conversations.py")
    log = at.dataframe[0].value
    by_customer = dict(zip(log["Customer"], log["Rating"], strict=True))
    assert by_customer["Vera Verified 🔒"] == "★★★★☆" and by_customer["Sam Shopper"] == ""


def test_an_ended_conversation_without_rating_says_so_and_a_running_one_says_nothing(dashboard_env: Seed) -> None:
    seed = dashboard_env
    at = signed_in(seed, "conversations.py", conversation=seed.c_ended)
    assert "Not rated by the customer." in texts(at)
    at = signed_in(seed, "conversations.py", conversation=seed.c_active)
    assert "Not rated" not in texts(at) and "Rated " not in texts(at)
    assert transcript.stars(2) == "★★☆☆☆"
