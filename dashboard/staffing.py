"""Staffing forecast: the agents needed per hour of the week for a chosen service level, by
Erlang C (``forecast.py``) on the arrival rate and handling time measured in a period, beside the
agents that were available then (from the presence log). One plot per weekday (or the week's
mean), a table and a CSV export of the whole week.
"""

from __future__ import annotations

import statistics
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import altair as alt
import pandas as pd
import streamlit as st

from frontdesk.dashboard import common, db, forecast
from frontdesk.dashboard.reports import WEEKDAYS, csv_button

WHOLE_WEEK = "Every day (mean of the week)"


def render() -> None:
    common.require_supervisor()
    st.title("Staffing forecast")
    st.caption("For each hour of the week: chats that came per hour and their mean handling time (accepted → "
               "ended), measured in the period; the agents Erlang C says are needed to answer the chosen share "
               "within the chosen time; and the agents that were available in those hours. An agent of capacity "
               "k counts as k servers (servers = agents × capacity): that holds when the handling time was "
               "measured at the concurrency agents work at, and it overstates what an agent with many chats at "
               "once achieves if each chat then slows down. Erlang C assumes customers never give up waiting, "
               "so it errs on the side of more agents.")
    with common.connection() as conn:
        queue_names = [q["name"] for q in db.queues(conn)]
        capacities = db.agent_capacities(conn)
        period, tz, target, goal, capacity, day = _controls(queue_names, capacities)
        if period.until <= period.since:
            st.error("“To” must not be before “From”.")
            return
        rows = db.staffing_by_hour_of_week(conn, period, tz)
    slots = [forecast.Slot(int(r["weekday"]), int(r["hour"]), int(r["hours"]), int(r["chats"]),
                           None if r["handling_s"] is None else float(r["handling_s"]), float(r["agent_hours"]))
             for r in rows]
    handled = [(float(r["handling_s"]), int(r["handled"])) for r in rows if r["handling_s"] is not None]
    if not handled:
        st.info("No chat in this period both came and ended: there is no handling time to forecast from. "
                "Choose a longer period or other queues.")
        return
    fallback = sum(s * n for s, n in handled) / sum(n for _, n in handled)
    table = _table(forecast.week(slots, target, goal, capacity, fallback))
    cols = st.columns(4)
    cols[0].metric("Chats in the period", f"{sum(s.chats for s in slots):,}")
    cols[1].metric("Mean handling time", common.fmt_duration(fallback))
    cols[2].metric("Peak agents needed", f"{int(table['agents needed'].max())}")
    short = table[table["agents present"] < table["agents needed"]]
    cols[3].metric("Hours short of the goal", f"{len(short)} of {int((table['chats per hour'] > 0).sum())}",
                   help="Hours of the week with chats where fewer agents were available than needed.")
    _plot(table, day)
    shown = table if day == WHOLE_WEEK else table[table["day"] == day]
    st.dataframe(shown, hide_index=True, key="table_staffing", column_config={
        "service level needed": st.column_config.NumberColumn(format="percent"),
        "service level present": st.column_config.NumberColumn(format="percent")})
    csv_button(table, "staffing_forecast_per_hour_of_week", "Download CSV (whole week)")


def _controls(queue_names: list[str], capacities: list[int]) -> tuple[db.Period, str, int, float, int, str]:
    tz_default = common.tz_name(common.local_tz())
    zones = sorted(available_timezones() | {"UTC"})
    today = datetime.now(common.local_tz()).date()
    c1, c2, c3, c4 = st.columns([1, 1, 2, 2])
    since = c1.date_input("From", value=today - timedelta(days=27), key="fc_from", format="YYYY-MM-DD")
    until = c2.date_input("To (inclusive)", value=today, key="fc_to", format="YYYY-MM-DD")
    queues = c3.multiselect("Queues", queue_names, key="fc_queues", placeholder="all queues")
    tz = c4.selectbox("Time zone for hours and days", zones, key="fc_tz",
                      index=zones.index(tz_default) if tz_default in zones else zones.index("UTC"))
    c5, c6, c7, c8 = st.columns([1, 1, 1, 2])
    goal = c5.number_input("Service level goal (%)", min_value=1, max_value=99, value=80, step=5, key="fc_goal")
    target = c6.number_input("Answered within (seconds)", min_value=1, max_value=3600, value=20, step=5,
                             key="fc_target")
    default_capacity = int(statistics.median(capacities)) if capacities else 1
    capacity = c7.number_input("Chats per agent at once", min_value=1, max_value=20,
                               value=max(1, default_capacity), step=1, key="fc_capacity",
                               help="Defaults to the agents' median capacity.")
    day = c8.selectbox("Show", [WHOLE_WEEK, *WEEKDAYS], key="fc_day")
    start = since if isinstance(since, date) else today - timedelta(days=27)
    end = until if isinstance(until, date) else today
    zone = ZoneInfo(tz)
    period = db.Period(datetime.combine(start, time(), zone), datetime.combine(end + timedelta(days=1), time(), zone),
                       tuple(queues))
    return period, tz, int(target), float(goal) / 100, int(capacity), str(day)


def _table(week: list[tuple[forecast.Slot, forecast.Hour]]) -> pd.DataFrame:
    return pd.DataFrame([{
        "day": WEEKDAYS[s.weekday - 1], "hour": s.hour, "chats per hour": round(h.arrivals_per_hour, 2),
        "handling (min)": round(h.aht_s / 60, 2), "erlangs": round(h.erlangs, 2),
        "agents needed": h.agents_needed, "service level needed": round(h.service_level_needed, 3),
        "agents present": round(h.agents_present or 0.0, 2),
        "service level present": None if h.service_level_present is None or h.erlangs == 0
        else round(h.service_level_present, 3),
    } for s, h in week], columns=["day", "hour", "chats per hour", "handling (min)", "erlangs", "agents needed",
                                  "service level needed", "agents present", "service level present"])


def _plot(table: pd.DataFrame, day: str) -> None:
    if day == WHOLE_WEEK:
        df = table.groupby("hour", as_index=False)[["agents needed", "agents present", "chats per hour"]].mean()
        title = "mean over the week's days"
    else:
        df = table[table["day"] == day][["hour", "agents needed", "agents present", "chats per hour"]]
        title = day
    long = df.melt(id_vars=["hour", "chats per hour"], value_vars=["agents needed", "agents present"],
                   var_name="agents", value_name="count")
    colours = alt.Scale(domain=["agents needed", "agents present"], range=["#c62828", "#2e7d32"])
    bars = alt.Chart(long).mark_bar(opacity=0.8).encode(
        x=alt.X("hour:O", title=f"hour of day ({title})"), xOffset="agents:N",
        y=alt.Y("count:Q", title="agents"), color=alt.Color("agents:N", scale=colours, title=None),
        tooltip=["hour", "agents", alt.Tooltip("count:Q", format=".2f"),
                 alt.Tooltip("chats per hour:Q", format=".2f")])
    st.altair_chart(bars.properties(height=280), key="chart_staffing")


if __name__ == "__main__":
    render()
