"""Live overview: queues, waiting chats, agents and pending offers, refreshed every few seconds.

Everything comes from the database, never from the engine's memory: waiting chats are
conversations with status ``queued``, agents' presence and load are the ``agent_status`` rows the
Router keeps current (an agent without a row has not been seen by the running engine: offline),
pending offers are offers without an outcome, open/closed is the queue's opening hours evaluated
now. Only the fragment below reruns on the timer, so the page does not reload.

A queue with customers waiting and no member available is highlighted (a warning above the
tables and its row marked): someone has to step in. Stepping in happens live, in the console's
supervisor mode (``/agent`` of the engine, linked here): watch, whisper, join, take over,
reassign, set an agent's presence.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from frontdesk.core import hours
from frontdesk.dashboard import common, db
from frontdesk.dashboard.engine_api import engine_url

REFRESH_S = 5
WAITING_SHOWN = 100
PRESENCE_LABEL = {"available": "🟢 available", "away": "🟡 away", "offline": "⚫ offline"}


def opening_status(opening_hours: Any, now: datetime) -> tuple[bool | None, str]:
    """(open now?, e.g. "open until 17:00 (Europe/Berlin)"); (None, why) for a broken schedule."""
    try:
        schedule = hours.parse_schedule(opening_hours)
    except hours.ScheduleError as exc:
        return None, f"⚠ invalid opening hours: {exc}"
    if schedule.kind == "always":
        return True, "open · always"
    if schedule.kind == "never":
        return False, "closed · offline requests only"
    tz = ZoneInfo(schedule.timezone)
    if hours.is_open(schedule, now):
        until = hours.open_until(schedule, now)
        if until is None:
            return True, "open"
        return True, f"open until {_when(until, now, tz)} ({schedule.timezone})"
    nxt = hours.next_open(schedule, now)
    if nxt is None:
        return False, "closed · no opening in the next 400 days"
    return False, f"closed · opens {_when(nxt, now, tz)} ({schedule.timezone})"


def _when(at: datetime, now: datetime, tz: ZoneInfo) -> str:
    local, today = at.astimezone(tz), now.astimezone(tz).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if local.date() - today < timedelta(days=7):
        return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def _wait_s(since: datetime | None, now: datetime) -> float | None:
    return None if since is None else max(0.0, (now - since).total_seconds())


def console_url() -> str:
    """The engine's console, its sign-in set to a supervisor's."""
    return f"{engine_url()}/agent?role=supervisor"


def unattended(queue_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queues where customers wait and no member agent is available."""
    return [q for q in queue_rows if int(q["waiting"]) > 0 and int(q["available"]) == 0]


def render() -> None:
    common.require_supervisor()
    st.title("Live overview")
    st.link_button("Step in live: the supervisor console ↗", console_url(),
                   help="Watch a chat, whisper to its agent, join, take over, reassign, set an agent's presence")
    live()


@st.fragment(run_every=REFRESH_S)
def live() -> None:
    now = common.now_utc()
    with common.connection() as conn:
        queue_rows = db.queue_overview(conn)
        waiting = db.waiting_chats(conn, WAITING_SHOWN)
        agents = db.agent_board(conn)
        offers = db.pending_offers(conn)
        parked = db.parked_conversations(conn)
    tz = common.local_tz()
    st.caption(f"Updated {common.fmt_time(now, tz)} ({common.tz_name(tz)}) · refreshes every {REFRESH_S} s")
    if parked:
        _parked(parked, tz)

    total_waiting = sum(int(q["waiting"]) for q in queue_rows)
    oldest = min((q["oldest_since"] for q in queue_rows if q["oldest_since"] is not None), default=None)
    by_presence = {p: sum(1 for a in agents if a["presence"] == p) for p in PRESENCE_LABEL}
    cols = st.columns(6)
    cols[0].metric("Chats waiting", total_waiting)
    cols[1].metric("Longest wait", common.fmt_duration(_wait_s(oldest, now)))
    cols[2].metric("Agents available", by_presence["available"])
    cols[3].metric("Agents away", by_presence["away"])
    cols[4].metric("Agents offline", by_presence["offline"])
    cols[5].metric("Pending offers", len(offers))
    for q in unattended(queue_rows):
        n = int(q["waiting"])
        st.warning(f"Queue {common.md(q['name'])}: {n} customer{'s' if n != 1 else ''} waiting and nobody "
                   "available. Set an agent available or reassign the chats in the supervisor console.", icon="⚠️")

    st.subheader("Queues")
    _queues(queue_rows, now)

    st.subheader(f"Waiting chats ({total_waiting})")
    if not waiting:
        st.info("No chat is waiting.")
    else:
        _waiting(waiting, now, tz)
        if total_waiting > len(waiting):
            st.caption(f"The {len(waiting)} waiting longest of {total_waiting}.")

    st.subheader("Agents")
    _agents(agents, now)
    st.subheader(f"Pending offers ({len(offers)})")
    _offers(offers, now, tz)


def _parked(rows: list[dict[str, Any]], tz: Any) -> None:
    """Conversations the engine stopped serving after repeated errors: nobody answers them until a
    supervisor steps in (the engine tries them again at its next start)."""
    st.error(f"⚠ {len(rows)} conversation(s) stopped after repeated engine errors: nobody is answering "
             "them. Contact the customer, and tell whoever runs the engine (its log names the error).")
    table = [{
        "Stopped": common.fmt_time(p["parked_at"], tz),
        "Queue": p["queue"],
        "Customer": f"{p['customer_name']} <{p['customer_email']}>",
        "Agent": p["owner_name"] or "—",
        "Status": p["status"],
        "Conversation": str(p["id"]),
    } for p in rows]
    st.dataframe(pd.DataFrame(table), hide_index=True, key="overview_parked")


def _queues(rows: list[dict[str, Any]], now: datetime) -> None:
    table = []
    alarming = {q["name"] for q in unattended(rows)}
    for q in rows:
        is_open, status = opening_status(q["opening_hours"], now)
        table.append({
            "Queue": q["name"],
            "Attention": "⚠ waiting, nobody available" if q["name"] in alarming else "",
            "Status": status if is_open is None else ("🟢 " if is_open else "🔴 ") + status,
            "Waiting": int(q["waiting"]),
            "Longest wait": common.fmt_duration(_wait_s(q["oldest_since"], now)),
            "Available": int(q["available"]),
            "Away": int(q["away"]),
            "Offline": int(q["offline"]),
            "Free slots": int(q["free_slots"]),
            "Pending offers": int(q["pending_offers"]),
        })
    st.dataframe(pd.DataFrame(table), hide_index=True, key="overview_queues")


def _waiting(rows: list[dict[str, Any]], now: datetime, tz: Any) -> None:
    table = [{
        "Waiting": common.fmt_duration(_wait_s(w["waiting_since"], now)),
        "Queue": w["queue"],
        "Customer": f"{w['customer_name']} <{w['customer_email']}>" + (" 🔒" if w["customer_verified"] else ""),
        "Question": (w["question"] or "")[:120],
        "Offered to": w["offered_to"] or "—",
        "Since": common.fmt_time(w["waiting_since"], tz),
        "Requeued": "↩ yes" if w["waiting_since"] != w["created_at"] else "",
    } for w in rows]
    st.dataframe(pd.DataFrame(table), hide_index=True, key="overview_waiting")


def _agents(rows: list[dict[str, Any]], now: datetime) -> None:
    if not rows:
        st.info("No agents.")
        return
    table = []
    for a in rows:
        load = int(a["open_conversations"]) + int(a["pending_offers"]) + int(a["pending_invitations"])
        capacity = int(a["capacity"])
        table.append({
            "Agent": a["name"],
            "State": PRESENCE_LABEL.get(a["presence"], a["presence"]),
            "Load": f"{load} / {capacity}",
            "Used": round(100 * min(1.0, load / capacity)) if capacity else 0,
            "Chats": int(a["open_conversations"]),
            "Offers": int(a["pending_offers"]),
            "Invitations": int(a["pending_invitations"]),
            "Queues": ", ".join(a["queues"]),
            "Last change": f"{common.fmt_duration(_wait_s(a['updated_at'], now))} ago" if a["updated_at"] else "—",
        })
    st.dataframe(pd.DataFrame(table), hide_index=True, key="overview_agents", column_config={
        # green up to half the capacity, red above: a third used is no alarm
        "Used": st.column_config.ProgressColumn("Used", min_value=0, max_value=100, format="%d%%",
                                                color="auto-inverse"),
        "Last change": st.column_config.TextColumn(help="When the engine last changed this agent's state or load"),
    })


def _expires(at: datetime, now: datetime) -> str:
    left = (at - now).total_seconds()
    # past its expiry but still without an outcome: the engine has not closed it (is it running?)
    return common.fmt_duration(left) if left >= 0 else f"overdue by {common.fmt_duration(-left)}"


def _offers(rows: list[dict[str, Any]], now: datetime, tz: Any) -> None:
    if not rows:
        st.info("No offer is pending.")
        return
    table = [{
        "Agent": o["agent_name"],
        "Customer": o["customer_name"],
        "Queue": o["queue"],
        "Offered": common.fmt_time(o["created_at"], tz),
        "Expires in": _expires(o["expires_at"], now),
    } for o in rows]
    st.dataframe(pd.DataFrame(table), hide_index=True, key="overview_offers")


if __name__ == "__main__":
    render()
