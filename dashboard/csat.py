"""The reports' customer-satisfaction section (CSAT, PROTOCOL.md §9): the ratings customers gave in
the period, per agent, per queue and over time, and their comments.

CSAT is the share of ratings of 4 or 5 (``db.SATISFIED_SCORE``) among all ratings; the mean score
is shown beside it. A rating counts for the agent who last owned the conversation when it was rated
and for its queue, in the period it was given (not when the conversation started). Every plot has
its table as CSV; comments are shown in a table, as typed (never Markdown or HTML).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import streamlit as st

from frontdesk.dashboard import common, db

SCORES = [1, 2, 3, 4, 5]
# red to green: a low score reads as a warning at a glance
SCORE_COLOURS = ["#c62828", "#ef6c00", "#9e9e9e", "#7cb342", "#2e7d32"]
NO_AGENT = "(no agent)"
# a period longer than this is shown per week, else per day
DAILY_UP_TO = timedelta(days=62)


def load(conn: db.Conn, period: db.Period, tz: str) -> dict[str, Any]:
    """Everything the section shows, read in one go (the page holds the connection once)."""
    unit = "day" if period.until - period.since <= DAILY_UP_TO else "week"
    return {"by_agent": db.csat_by(conn, period, "agent"), "by_queue": db.csat_by(conn, period, "queue"),
            "over_time": db.csat_over_time(conn, period, tz, unit), "unit": unit,
            "comments": db.csat_comments(conn, period), "tz": tz}


def summary(rows: list[db.Row], key: str, label: str) -> pd.DataFrame:
    """One row per ``key`` value: ratings, CSAT (share), mean score, count per score, comments."""
    columns = [label, "ratings", "CSAT", "mean score", *(f"{s}★" for s in SCORES), "comments"]
    return pd.DataFrame([{
        label: r[key] if r[key] is not None else NO_AGENT,
        "ratings": int(r["ratings"]),
        "CSAT": int(r["satisfied"]) / int(r["ratings"]) if r["ratings"] else None,
        "mean score": round(float(r["mean_score"]), 2) if r["mean_score"] is not None else None,
        **{f"{s}★": int(r[f"s{s}"]) for s in SCORES},
        "comments": int(r["comments"]),
    } for r in rows], columns=columns)


def totals(rows: list[db.Row]) -> dict[str, float | int | None]:
    """Ratings, CSAT and mean over every row of one breakdown (each rating is in exactly one row)."""
    count = sum(int(r["ratings"]) for r in rows)
    satisfied = sum(int(r["satisfied"]) for r in rows)
    score_sum = sum(s * int(r[f"s{s}"]) for r in rows for s in SCORES)
    return {"ratings": count, "csat": satisfied / count if count else None,
            "mean": score_sum / count if count else None}


def render(data: dict[str, Any], csv_button: Callable[[pd.DataFrame, str], None]) -> None:
    st.subheader("Customer satisfaction (CSAT)")
    overall = totals(data["by_queue"])
    if not overall["ratings"]:
        st.info("No ratings in this period. Customers are asked for a rating (1–5 stars) when a chat ends "
                "or a conversation is resolved.")
        return
    cols = st.columns(3)
    cols[0].metric("CSAT", f"{overall['csat']:.1%}",
                   help=f"Ratings of {db.SATISFIED_SCORE} or 5 stars, of all ratings given in the period.")
    cols[1].metric("Mean score", f"{overall['mean']:.2f} / 5")
    cols[2].metric("Ratings", f"{overall['ratings']:,}")
    _breakdown(summary(data["by_agent"], "agent", "agent"), "agent", csv_button)
    _breakdown(summary(data["by_queue"], "queue", "queue"), "queue", csv_button)
    _over_time(data["over_time"], data["unit"], csv_button)
    _comments(data["comments"], data["tz"], csv_button)


def _breakdown(table: pd.DataFrame, label: str, csv_button: Callable[[pd.DataFrame, str], None]) -> None:
    st.markdown(f"**Per {label}**")
    long = table.melt(id_vars=[label, "ratings", "CSAT"], value_vars=[f"{s}★" for s in SCORES],
                      var_name="score", value_name="count")
    chart = alt.Chart(long).mark_bar().encode(
        y=alt.Y(f"{label}:N", title=None, sort=alt.EncodingSortField("CSAT", order="descending")),
        x=alt.X("count:Q", title="ratings", stack="zero", axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color("score:N", title="stars", sort=[f"{s}★" for s in SCORES],
                        scale=alt.Scale(domain=[f"{s}★" for s in SCORES], range=SCORE_COLOURS)),
        order=alt.Order("score:N", sort="ascending"),
        tooltip=[label, "score", "count", "ratings", alt.Tooltip("CSAT:Q", format=".0%")],
    ).properties(height=max(140, 40 * len(table)))
    st.altair_chart(chart, key=f"chart_csat_{label}")
    st.dataframe(table, hide_index=True, key=f"table_csat_{label}", column_config={
        "CSAT": st.column_config.NumberColumn(format="percent")})
    csv_button(table, f"csat_per_{label}")


def _over_time(rows: list[db.Row], unit: str, csv_button: Callable[[pd.DataFrame, str], None]) -> None:
    st.markdown(f"**Per {unit}**")
    df = pd.DataFrame([{
        unit: r["period"], "ratings": int(r["ratings"]),
        "CSAT": int(r["satisfied"]) / int(r["ratings"]) if r["ratings"] else None,
        "mean score": round(float(r["mean_score"]), 2) if r["mean_score"] is not None else None,
    } for r in rows], columns=[unit, "ratings", "CSAT", "mean score"])
    # one band per day or week that has ratings: wide bars, no hours on the axis
    df[unit] = pd.to_datetime(df[unit]).dt.date
    plot = df.assign(label=[d.isoformat() for d in df[unit]])
    base = alt.Chart(plot).encode(x=alt.X("label:O", title=None if unit == "day" else "week from",
                                          axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar(color="#c5cae9").encode(y=alt.Y("ratings:Q", title="ratings",
                                                         axis=alt.Axis(tickMinStep=1, format="d")),
                                                 tooltip=[alt.Tooltip("label:O", title=unit), "ratings"])
    line = base.mark_line(point=True, color="#2e7d32").encode(
        y=alt.Y("CSAT:Q", title="CSAT", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("label:O", title=unit), alt.Tooltip("CSAT:Q", format=".0%"), "mean score", "ratings"])
    st.altair_chart(alt.layer(bars, line).resolve_scale(y="independent").properties(height=220),
                    key="chart_csat_time")
    csv_button(df, f"csat_per_{unit}")


def _comments(rows: list[db.Row], tz: str, csv_button: Callable[[pd.DataFrame, str], None]) -> None:
    st.markdown("**Comments** (newest first)")
    zone = ZoneInfo(tz)
    df = pd.DataFrame([{
        "when": common.fmt_time(r["created_at"], zone, seconds=False), "queue": r["queue"],
        "agent": r["agent"] or NO_AGENT, "score": int(r["score"]),
        "comment": r["comment"], "conversation": str(r["conversation_id"]),
    } for r in rows], columns=["when", "queue", "agent", "score", "comment", "conversation"])
    if df.empty:
        st.caption("No comments in this period.")
        return
    # a dataframe cell shows its text as typed: no Markdown, no HTML
    st.dataframe(df, hide_index=True, key="table_csat_comments", column_config={
        "score": st.column_config.NumberColumn(format="%d ★"),
        "comment": st.column_config.TextColumn(width="large")})
    csv_button(df, "csat_comments")
