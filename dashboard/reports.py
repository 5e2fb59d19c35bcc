"""Reports over a period: chats per hour and weekday, waiting times and service level (share of
chats an agent accepted within N seconds, N chosen here), first-response time, offer outcomes per
agent, handling time per agent, agent occupancy, transfers (``transfers.py``), offline requests per
day, customer satisfaction (``csat.py``). Every plot is interactive (tooltips, zoom, legend filter)
and every table can be downloaded as CSV. All aggregation happens in PostgreSQL (``db.py``); the
occupancy figures are derived in ``occupancy.py``. The staffing forecast is a page of its own
(``staffing.py``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import altair as alt
import pandas as pd
import streamlit as st

from frontdesk.dashboard import common, csat, db, occupancy, transfers

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
OUTCOME_COLOURS = {"accepted": "#2e7d32", "rejected": "#c62828", "expired": "#ef6c00", "revoked": "#6d4c41",
                   "void": "#9e9e9e", "pending": "#1565c0"}
WAIT_BUCKETS = 30
HANDLING_BUCKET_S = 60
HANDLING_BUCKETS = 60


def csv_button(df: pd.DataFrame, name: str, label: str = "Download CSV") -> None:
    st.download_button(label, df.to_csv(index=False).encode("utf-8"), file_name=f"{name}.csv", mime="text/csv",
                       key=f"csv_{name}", icon=":material/download:", on_click="ignore")


def _controls(queue_names: list[str]) -> tuple[db.Period, str, int, int, int]:
    tz_default = common.tz_name(common.local_tz())
    zones = sorted(available_timezones() | {"UTC"})
    c1, c2, c3, c4 = st.columns([1, 1, 2, 2])
    today = datetime.now(common.local_tz()).date()
    since = c1.date_input("From", value=today - timedelta(days=29), key="rep_from", format="YYYY-MM-DD")
    until = c2.date_input("To (inclusive)", value=today, key="rep_to", format="YYYY-MM-DD")
    queues = c3.multiselect("Queues", queue_names, key="rep_queues", placeholder="all queues")
    tz = c4.selectbox("Time zone for hours and days", zones, key="rep_tz",
                      index=zones.index(tz_default) if tz_default in zones else zones.index("UTC"))
    c5, c6, c7 = st.columns([2, 2, 2])
    within = int(c5.number_input("Service level: answered within N seconds", min_value=1, max_value=3600,
                                 value=60, step=5, key="rep_within"))
    bucket = int(c6.selectbox("Waiting-time bars every", [5, 10, 15, 30, 60], index=1, key="rep_bucket",
                              format_func=lambda s: f"{s} s"))
    respond = int(c7.number_input("First response: within N seconds", min_value=1, max_value=86400, value=60,
                                  step=5, key="rep_respond"))
    start = since if isinstance(since, date) else today - timedelta(days=29)
    end = until if isinstance(until, date) else today
    zone = ZoneInfo(tz)
    period = db.Period(datetime.combine(start, time(), zone), datetime.combine(end + timedelta(days=1), time(), zone),
                       tuple(queues))
    return period, tz, within, bucket, respond


def render() -> None:
    common.require_supervisor()
    st.title("Reports")
    with common.connection() as conn:
        queue_names = [q["name"] for q in db.queues(conn)]
        period, tz, within, bucket, respond = _controls(queue_names)
        if period.until <= period.since:
            st.error("“To” must not be before “From”.")
            return
        by_hour = db.chats_by_hour_and_weekday(conn, period, tz)
        waits = db.wait_histogram(conn, period, bucket, WAIT_BUCKETS)
        levels = db.service_level(conn, period, within)
        first = db.first_response(conn, period, respond)
        first_agents = db.first_response_by_agent(conn, period)
        first_hist = db.first_response_histogram(conn, period, bucket, WAIT_BUCKETS)
        outcomes = db.offer_outcomes(conn, period)
        handling = db.owner_handling_by_agent(conn, period)
        handling_hist = db.owner_handling_histogram(conn, period, HANDLING_BUCKET_S, HANDLING_BUCKETS)
        occupancy_rows = db.occupancy_by_agent(conn, period)
        offline = db.offline_requests_per_day(conn, period, tz)
        satisfaction = csat.load(conn, period, tz)
        handed_over = db.transfers_by_agent(conn, period)
    _chats_per_hour(by_hour, tz)
    _waiting(waits, levels, within, bucket)
    _first_response(first, first_agents, first_hist, respond, bucket)
    _outcomes(outcomes)
    _handling(handling, handling_hist)
    _occupancy(occupancy_rows)
    transfers.render(handed_over, csv_button)
    _offline(offline)
    csat.render(satisfaction, csv_button)


def _chats_per_hour(rows: list[db.Row], tz: str) -> None:
    st.subheader("Chats per hour and weekday")
    grid = pd.DataFrame([(d, h) for d in range(1, 8) for h in range(24)], columns=["weekday", "hour"])
    counts = pd.DataFrame(rows, columns=["weekday", "hour", "chats"])
    df = grid.merge(counts, on=["weekday", "hour"], how="left").fillna({"chats": 0})
    df["chats"] = df["chats"].astype(int)
    df["day"] = df["weekday"].map(lambda d: WEEKDAYS[int(d) - 1])
    total = int(df["chats"].sum())
    st.caption(f"{total:,} chats started in the period · hours in {tz}")
    heat = alt.Chart(df).mark_rect().encode(
        x=alt.X("hour:O", title="hour of day"),
        y=alt.Y("day:O", sort=WEEKDAYS, title=None),
        color=alt.Color("chats:Q", scale=alt.Scale(scheme="blues"), title="chats"),
        tooltip=["day", "hour", "chats"],
    ).properties(height=230)
    per_hour = alt.Chart(df).mark_bar().encode(
        x=alt.X("hour:O", title="hour of day"), y=alt.Y("sum(chats):Q", title="chats"),
        tooltip=[alt.Tooltip("hour:O"), alt.Tooltip("sum(chats):Q", title="chats")],
    ).properties(height=160)
    st.altair_chart(alt.vconcat(heat, per_hour), key="chart_hours")
    csv_button(df[["day", "hour", "chats"]], "chats_per_hour_and_weekday")


def _waiting(waits: list[db.Row], levels: list[db.Row], within: int, bucket: int) -> None:
    st.subheader("Waiting time and service level")
    overall = next((r for r in levels if r["queue"] is None), None)
    chats = int(overall["chats"]) if overall else 0
    in_time = int(overall["answered_in_time"]) if overall else 0
    cols = st.columns(4)
    cols[0].metric(f"Service level ({within} s)", f"{in_time / chats:.1%}" if chats else "—",
                   help=f"Chats an agent accepted within {within} s, of all chats that stopped waiting in the "
                        "period (accepted, or ended unanswered: customer left, or became an offline request).")
    cols[1].metric("Chats (no longer waiting)", f"{chats:,}")
    cols[2].metric("Mean wait", common.fmt_duration(_float(overall, "mean_wait_s")))
    cols[3].metric("90% answered within", common.fmt_duration(_float(overall, "p90_wait_s")))
    hist = pd.DataFrame(waits, columns=["bucket", "chats"])
    if hist.empty:
        st.info("No answered chats in this period.")
    else:
        hist["from_s"] = hist["bucket"] * bucket
        hist["wait"] = [f"≥ {b * bucket} s" if b >= WAIT_BUCKETS else f"{b * bucket}–{(b + 1) * bucket} s"
                        for b in hist["bucket"]]
        hist["in_time"] = [(b + 1) * bucket <= within for b in hist["bucket"]]
        hist["answered"] = hist["in_time"].map({True: f"within {within} s", False: f"after {within} s"})
        hist["to_s"] = hist["from_s"] + bucket
        bars = alt.Chart(hist).mark_bar().encode(
            x=alt.X("from_s:Q", bin="binned", title="seconds until an agent accepted"), x2="to_s:Q",
            y=alt.Y("chats:Q", title="chats"),
            color=alt.Color("answered:N", scale=alt.Scale(domain=[f"within {within} s", f"after {within} s"],
                                                         range=["#2e7d32", "#ef6c00"]), title=None),
            tooltip=["wait", "chats", "answered"],
        )
        rule = alt.Chart(pd.DataFrame({"x": [within]})).mark_rule(color="#111", strokeDash=[4, 3]).encode(x="x:Q")
        st.altair_chart((bars + rule).properties(height=240).interactive(bind_y=False), key="chart_waits")
        csv_button(hist[["wait", "from_s", "chats", "answered"]], "waiting_time_distribution")
    table = pd.DataFrame([{
        "Queue": r["queue"] or "all queues",
        "Chats": int(r["chats"]),
        "Answered": int(r["answered"]),
        f"Within {within} s": int(r["answered_in_time"]),
        "Unanswered": int(r["unanswered"]),
        "Service level": (int(r["answered_in_time"]) / int(r["chats"])) if r["chats"] else None,
        "Mean wait (s)": _round(_float(r, "mean_wait_s")),
        "P90 wait (s)": _round(_float(r, "p90_wait_s")),
    } for r in levels])
    if not table.empty:
        st.dataframe(table, hide_index=True, key="table_service_level", column_config={
            "Service level": st.column_config.NumberColumn(format="percent")})
        csv_button(table, "service_level")


def _first_response(levels: list[db.Row], agents: list[db.Row], hist_rows: list[db.Row], respond: int,
                    bucket: int) -> None:
    st.subheader("First response time")
    st.caption("From the customer's first message to the first public agent reply (private notes and system "
               "lines do not count), as contact-centre products measure it; the wait in the line is part of it. "
               "Conversations without a customer message (started by an agent) are left out.")
    overall = next((r for r in levels if r["queue"] is None), None)
    chats = int(overall["chats"]) if overall else 0
    answered = int(overall["answered"]) if overall else 0
    in_time = int(overall["answered_in_time"]) if overall else 0
    cols = st.columns(4)
    cols[0].metric(f"Answered within {respond} s", f"{in_time / chats:.1%}" if chats else "—",
                   help=f"Conversations whose first public reply came within {respond} s, of all with a customer "
                        "message (unanswered ones count as late).")
    cols[1].metric("Median first response", common.fmt_duration(_float(overall, "median_s")))
    cols[2].metric("90% first replied within", common.fmt_duration(_float(overall, "p90_s")),
                   help="90th percentile of the answered conversations' first-response times.")
    cols[3].metric("Not answered (yet)", f"{chats - answered:,}")
    if not answered:
        st.info("No conversation got a public agent reply in this period.")
        return
    left, right = st.columns(2)
    with left:
        hist = pd.DataFrame(hist_rows, columns=["bucket", "chats"])
        hist["from_s"] = hist["bucket"] * bucket
        hist["to_s"] = hist["from_s"] + bucket
        hist["response"] = [f"≥ {b * bucket} s" if b >= WAIT_BUCKETS else f"{b * bucket}–{(b + 1) * bucket} s"
                            for b in hist["bucket"]]
        bars = alt.Chart(hist).mark_bar(color="#00838f").encode(
            x=alt.X("from_s:Q", bin="binned", title="seconds to the first public reply"), x2="to_s:Q",
            y=alt.Y("chats:Q", title="conversations"), tooltip=["response", "chats"])
        rule = alt.Chart(pd.DataFrame({"x": [respond]})).mark_rule(color="#111", strokeDash=[4, 3]).encode(x="x:Q")
        st.altair_chart((bars + rule).properties(height=240).interactive(bind_y=False), key="chart_first_response")
    with right:
        df = pd.DataFrame([{"agent": r["agent"], "replies": int(r["replies"]),
                            "median": _round(_float(r, "median_s")), "p90": _round(_float(r, "p90_s"))}
                           for r in agents], columns=["agent", "replies", "median", "p90"])
        base = alt.Chart(df).encode(y=alt.Y("agent:N", title=None, sort="-x"))
        bars = base.mark_bar(color="#00838f").encode(
            x=alt.X("median:Q", title="seconds (bar: median, tick: 90th percentile)"),
            tooltip=["agent", "replies", alt.Tooltip("median:Q", title="median (s)"),
                     alt.Tooltip("p90:Q", title="p90 (s)")])
        ticks = base.mark_tick(color="#111", thickness=2).encode(x="p90:Q")
        st.altair_chart((bars + ticks).properties(height=max(160, 18 * len(df))), key="chart_first_response_agents")
    table = pd.DataFrame([{
        "Queue": r["queue"] or "all queues", "Conversations": int(r["chats"]), "Answered": int(r["answered"]),
        f"Within {respond} s": int(r["answered_in_time"]),
        "Share within": (int(r["answered_in_time"]) / int(r["chats"])) if r["chats"] else None,
        "Mean (s)": _round(_float(r, "mean_s")), "Median (s)": _round(_float(r, "median_s")),
        "P90 (s)": _round(_float(r, "p90_s")),
    } for r in levels])
    st.dataframe(table, hide_index=True, key="table_first_response", column_config={
        "Share within": st.column_config.NumberColumn(format="percent")})
    csv_button(table, "first_response_per_queue")
    agents_table = pd.DataFrame([{"Agent": r["agent"], "First replies": int(r["replies"]),
                                  "Mean (s)": _round(_float(r, "mean_s")), "Median (s)": _round(_float(r, "median_s")),
                                  "P90 (s)": _round(_float(r, "p90_s"))} for r in agents])
    st.dataframe(agents_table, hide_index=True, key="table_first_response_agents")
    csv_button(agents_table, "first_response_per_agent")


def _outcomes(rows: list[db.Row]) -> None:
    st.subheader("Offer outcomes per agent")
    df = pd.DataFrame(rows, columns=["agent", "outcome", "offers"])
    if df.empty:
        st.info("No offers in this period.")
        return
    pick = alt.selection_point(fields=["outcome"], bind="legend")
    domain = [o for o in OUTCOME_COLOURS if o in set(df["outcome"])]
    chart = alt.Chart(df).mark_bar().encode(
        y=alt.Y("agent:N", title=None, sort="-x"),
        x=alt.X("offers:Q", title="offers", stack="zero"),
        color=alt.Color("outcome:N", scale=alt.Scale(domain=domain, range=[OUTCOME_COLOURS[o] for o in domain])),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
        tooltip=["agent", "outcome", "offers"],
    ).add_params(pick).properties(height=max(160, 22 * df["agent"].nunique()))
    st.altair_chart(chart, key="chart_outcomes")
    st.caption("Click an outcome in the legend to highlight it.")
    wide = df.pivot_table(index="agent", columns="outcome", values="offers", aggfunc="sum", fill_value=0)
    wide = wide.astype(int).reset_index()
    wide.columns.name = None
    offered = wide.drop(columns=["agent"]).sum(axis=1)
    wide["acceptance rate"] = (wide["accepted"] / offered).round(3) if "accepted" in wide else 0.0
    st.dataframe(wide, hide_index=True, key="table_outcomes", column_config={
        "acceptance rate": st.column_config.NumberColumn(format="percent")})
    csv_button(wide, "offer_outcomes_per_agent")


def _handling(rows: list[db.Row], hist_rows: list[db.Row]) -> None:
    st.subheader("Handling time per agent")
    st.caption("From the agent's assignment (an accepted offer, or a chat handed to them) until the chat ended or "
               "they left it; a chat that changed owners counts once for each owner.")
    df = pd.DataFrame([{
        "agent": r["agent"], "chats": int(r["chats"]),
        "mean (min)": _round(_minutes(r, "mean_s")), "median (min)": _round(_minutes(r, "median_s")),
        "p90 (min)": _round(_minutes(r, "p90_s")),
    } for r in rows], columns=["agent", "chats", "mean (min)", "median (min)", "p90 (min)"])
    if df.empty:
        st.info("No finished chats in this period.")
        return
    left, right = st.columns(2)
    with left:
        # plain column names: Altair reads "median (min)" as the aggregate median() of a field "min"
        plot = df.rename(columns={"mean (min)": "mean", "median (min)": "median", "p90 (min)": "p90"})
        base = alt.Chart(plot).encode(y=alt.Y("agent:N", title=None, sort="-x"))
        bars = base.mark_bar(color="#5c6bc0").encode(
            x=alt.X("median:Q", title="minutes (bar: median, tick: 90th percentile)"),
            tooltip=["agent", "chats", alt.Tooltip("mean:Q", title="mean (min)"),
                     alt.Tooltip("median:Q", title="median (min)"), alt.Tooltip("p90:Q", title="p90 (min)")])
        ticks = base.mark_tick(color="#111", thickness=2).encode(x="p90:Q")
        st.altair_chart((bars + ticks).properties(height=max(160, 18 * len(df))), key="chart_handling")
    with right:
        hist = pd.DataFrame(hist_rows, columns=["bucket", "chats"])
        hist["minutes"] = hist["bucket"] * HANDLING_BUCKET_S / 60
        hist["to"] = hist["minutes"] + HANDLING_BUCKET_S / 60
        chart = alt.Chart(hist).mark_bar(color="#5c6bc0").encode(
            x=alt.X("minutes:Q", bin="binned",
                    title=f"minutes from assignment to end (last bar: ≥ {HANDLING_BUCKETS})"),
            x2="to:Q",
            y=alt.Y("chats:Q"), tooltip=["minutes", "chats"],
        ).properties(height=max(160, 18 * len(df))).interactive(bind_y=False)
        st.altair_chart(chart, key="chart_handling_hist")
    st.dataframe(df, hide_index=True, key="table_handling")
    csv_button(df, "handling_time_per_agent")


def _occupancy(rows: list[db.Row]) -> None:
    st.subheader("Agent occupancy")
    st.caption("Staffed = time the agent was available, or in at least one chat (a chat goes on when its agent "
               "turns away). **Occupancy = time in at least one chat ÷ staffed time.** Chats at once = "
               "chat-seconds ÷ time in at least one chat; slot use = chat-seconds ÷ (staffed time × capacity). "
               "Presence comes from the presence log (sign-in, available, away, offline), chats from each agent's "
               "time as owner or invited colleague; both are cut to the period. With queues chosen: their members, "
               "with all their chats.")
    figures = [occupancy.of_agent(r) for r in rows]
    if not figures:
        st.info("No agent was available or chatting in this period.")
        return
    everyone = occupancy.total(rows)
    cols = st.columns(4)
    cols[0].metric("Occupancy (all agents)", _pct(everyone.occupancy))
    cols[1].metric("Staffed hours", f"{everyone.staffed_h:,.1f}")
    cols[2].metric("Chats at once (mean)", "—" if everyone.chats_at_once is None else f"{everyone.chats_at_once:.2f}")
    cols[3].metric("Slot use", _pct(everyone.slot_use))
    df = pd.DataFrame([{
        "agent": f.agent, "capacity": f.capacity, "available (h)": round(f.available_h, 2),
        "chatting (h)": round(f.chatting_h, 2), "staffed (h)": round(f.staffed_h, 2),
        "occupancy": None if f.occupancy is None else round(f.occupancy, 3),
        "chats at once": None if f.chats_at_once is None else round(f.chats_at_once, 2),
        "slot use": None if f.slot_use is None else round(f.slot_use, 3),
    } for f in figures])
    plot = pd.DataFrame([{"agent": f.agent, "part": part, "hours": hours, "occupancy": _pct(f.occupancy)}
                         for f in figures
                         for part, hours in (("chatting", f.chatting_h), ("staffed, not chatting",
                                                                          max(0.0, f.staffed_h - f.chatting_h)))])
    chart = alt.Chart(plot).mark_bar().encode(
        y=alt.Y("agent:N", title=None), x=alt.X("hours:Q", title="hours staffed", stack="zero"),
        color=alt.Color("part:N", scale=alt.Scale(domain=["chatting", "staffed, not chatting"],
                                                  range=["#5c6bc0", "#c5cae9"]), title=None),
        tooltip=["agent", "part", alt.Tooltip("hours:Q", format=".2f"), "occupancy"],
    ).properties(height=max(160, 22 * len(figures)))
    st.altair_chart(chart, key="chart_occupancy")
    st.dataframe(df, hide_index=True, key="table_occupancy", column_config={
        "occupancy": st.column_config.NumberColumn(format="percent"),
        "slot use": st.column_config.NumberColumn(format="percent")})
    csv_button(df, "agent_occupancy")


def _offline(rows: list[db.Row]) -> None:
    st.subheader("Offline requests per day")
    df = pd.DataFrame(rows, columns=["day", "queue", "requests", "handled"])
    if df.empty:
        st.info("No offline requests in this period.")
        return
    df["day"] = pd.to_datetime(df["day"])
    pick = alt.selection_point(fields=["queue"], bind="legend")
    chart = alt.Chart(df).mark_bar().encode(
        x=alt.X("yearmonthdate(day):T", title=None), y=alt.Y("sum(requests):Q", title="requests"),
        color=alt.Color("queue:N"), opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
        tooltip=[alt.Tooltip("yearmonthdate(day):T", title="day"), "queue", "requests", "handled"],
    ).add_params(pick).properties(height=220).interactive(bind_y=False)
    st.altair_chart(chart, key="chart_offline")
    out = df.assign(day=df["day"].dt.date)
    st.dataframe(out, hide_index=True, key="table_offline")
    csv_button(out, "offline_requests_per_day")


def _float(row: db.Row | None, key: str) -> float | None:
    value = row.get(key) if row else None
    return None if value is None else float(value)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _minutes(row: db.Row, key: str) -> float | None:
    value = _float(row, key)
    return None if value is None else value / 60


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


if __name__ == "__main__":
    render()
