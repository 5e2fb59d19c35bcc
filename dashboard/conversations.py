"""Conversation log: filter by queue, agent, status, date range and message text (PostgreSQL
full-text search), newest first, 50 per page; click a row (or open ``?conversation=<id>``) to
read its transcript.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import pandas as pd
import streamlit as st

from frontdesk.dashboard import common, db, transcript

PAGE_SIZE = 50
COUNT_CAP = 1000
STATUSES = ["queued", "active", "pending", "resolved", "ended"]
OPEN_KEY = "open_conversation"


def _day_start(day: date | None, tz: tzinfo) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tz)


def current_filter(tz: tzinfo, agents: dict[str, str], queue_names: list[str]) -> db.ConversationFilter:
    c1, c2, c3 = st.columns([2, 2, 2])
    queues = c1.multiselect("Queue", queue_names, key="log_queues", placeholder="all queues")
    agent = c2.selectbox("Agent (took part)", [None, *agents], key="log_agent",
                         format_func=lambda a: "any agent" if a is None else agents[a])
    statuses = c3.multiselect("Status", STATUSES, key="log_statuses", placeholder="any status")
    c4, c5, c6 = st.columns([1, 1, 4])
    since = c4.date_input("From", value=None, key="log_from", format="YYYY-MM-DD")
    until = c5.date_input("To (inclusive)", value=None, key="log_to", format="YYYY-MM-DD")
    text = c6.text_input("Search message text", key="log_text", placeholder='e.g. refund  ·  "reset password"  ·  '
                         "invoice -paypal", help="Full-text search over every message, private notes included: "
                         "words (all must occur), \"an exact phrase\", -excluded, a or b. No stemming.")
    return db.ConversationFilter(
        queues=tuple(queues), agent_id=agent, statuses=tuple(statuses),
        since=_day_start(since if isinstance(since, date) else None, tz),
        until=_day_start(until + timedelta(days=1), tz) if isinstance(until, date) else None,
        text=text or "")


def _rows_table(rows: list[dict[str, Any]], tz: tzinfo) -> pd.DataFrame:
    out = []
    for r in rows:
        wait = (r["accepted_at"] - r["created_at"]).total_seconds() if r["accepted_at"] else None
        duration = (r["ended_at"] - r["accepted_at"]).total_seconds() if r["ended_at"] and r["accepted_at"] else None
        ended = f"{r['ended_by']} ({r['end_reason']})" if r["ended_by"] and r["end_reason"] else (r["ended_by"] or "")
        out.append({
            "Started": common.fmt_time(r["created_at"], tz),
            "Queue": r["queue"],
            "Customer": r["customer_name"] + (" 🔒" if r["customer_verified"] else ""),
            "E-mail": r["customer_email"],
            "Status": r["status"],
            "Agent": r["owner_name"] or "—",
            "Messages": int(r["message_count"] or 0),
            "Wait": common.fmt_duration(wait),
            "Duration": common.fmt_duration(duration),
            "Ended by": ended,
            "Rating": "★" * r["rating_score"] + "☆" * (5 - r["rating_score"]) if r.get("rating_score") else "",
        })
    return pd.DataFrame(out)


def _open(conversation_id: str | None) -> None:
    if conversation_id:
        st.session_state[OPEN_KEY] = conversation_id
        st.query_params["conversation"] = conversation_id
    else:
        st.session_state.pop(OPEN_KEY, None)
        st.query_params.pop("conversation", None)
        for key in [k for k in st.session_state if str(k).startswith("log_table_")]:
            del st.session_state[key]  # forget the row click, or the list would open it again


def render() -> None:
    common.require_supervisor()
    tz = common.local_tz()
    wanted = st.session_state.get(OPEN_KEY) or st.query_params.get("conversation")
    if wanted:
        if st.button("← Back to the list", key="back_to_list"):
            _open(None)
            st.rerun()
        if not transcript.render(str(wanted)):
            st.error("No such conversation.")
        return

    st.title("Conversations")
    with common.connection() as conn:
        agents = {str(a["id"]): a["name"] for a in db.agents(conn)}
        queue_names = [q["name"] for q in db.queues(conn)]
        f = current_filter(tz, agents, queue_names)
        if f.since and f.until and f.until <= f.since:
            st.error("“To” must not be before “From”.")
            return
        if st.session_state.get("log_last_filter") != f:
            st.session_state["log_last_filter"] = f
            st.session_state["log_page"] = 0
        page = int(st.session_state.get("log_page", 0))
        result = db.conversation_page(conn, f, PAGE_SIZE, page * PAGE_SIZE, COUNT_CAP)
    rows, total, has_next = result.rows, result.total, result.has_next
    if total is None:
        total_text = "Many"
    else:
        total_text = f"{COUNT_CAP:,}+" if total > COUNT_CAP else f"{total:,}"
    if not rows:
        st.info("No conversation matches these filters." if page == 0 else "No more conversations.")
    else:
        first = page * PAGE_SIZE + 1
        st.caption(f"{total_text} conversations match · showing {first:,}–{first + len(rows) - 1:,}, newest first · "
                   f"times in {common.tz_name(tz)} · 🔒 = verified customer · click a row to read it")
        event = st.dataframe(_rows_table(rows, tz), hide_index=True, key=f"log_table_{page}",
                             on_select="rerun", selection_mode="single-row")
        selected = list(getattr(getattr(event, "selection", None), "rows", []) or [])
        if selected:
            _open(str(rows[selected[0]]["id"]))
            st.rerun()
    prev_col, label_col, next_col = st.columns([1, 2, 1])
    if prev_col.button("◀ Newer", disabled=page == 0, key="log_prev"):
        st.session_state["log_page"] = page - 1
        st.rerun()
    label_col.markdown(f"<div style='text-align:center'>page {page + 1}</div>", unsafe_allow_html=True)
    if next_col.button("Older ▶", disabled=not has_next, key="log_next"):
        st.session_state["log_page"] = page + 1
        st.rerun()


if __name__ == "__main__":
    render()
