"""The reports' transfers section: how often agents handed chats over in the period, to whom (a
colleague by name, or a queue), and how the transfers ended (accepted, declined, expired).

A transfer counts in the period it was asked for and in its conversation's queue. "Expired" takes
in every transfer that ended unanswered: the offer's time ran out, the chat ended meanwhile, or a
supervisor took charge of it.
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from frontdesk.dashboard import db

OUTCOMES = ["accepted", "declined", "expired", "pending"]
# accepted green, declined red, expired grey, pending blue: the outcomes read at a glance
OUTCOME_COLOURS = ["#2e7d32", "#c62828", "#9e9e9e", "#1565c0"]


def table(rows: list[db.Row]) -> pd.DataFrame:
    """One row per (from, to) pair: the target is the colleague's name or "queue <name>"."""
    columns = ["from", "to", "asked", *OUTCOMES, "accepted share"]
    return pd.DataFrame([{
        "from": r["from_agent"],
        "to": r["to_agent"] or f"queue {r['to_queue']}",
        "asked": int(r["asked"]),
        **{o: int(r[o]) for o in OUTCOMES},
        "accepted share": int(r["accepted"]) / int(r["asked"]) if r["asked"] else None,
    } for r in rows], columns=columns)


def render(rows: list[db.Row], csv_button: Callable[[pd.DataFrame, str], None]) -> None:
    st.header("Transfers")
    st.caption("Chats an owner handed to a colleague or a queue, by who handed over and to whom, and "
               "how each ended. “Expired”: unanswered in time, the chat ended, or a supervisor took charge.")
    if not rows:
        st.info("No transfers in this period.")
        return
    df = table(rows)
    c1, c2, c3 = st.columns(3)
    asked = int(df["asked"].sum())
    c1.metric("Transfers asked for", asked)
    c2.metric("Accepted", f"{int(df['accepted'].sum()) / asked:.0%}")
    c3.metric("Declined or expired", int(df["declined"].sum() + df["expired"].sum()))
    by_agent = df.groupby("from", as_index=False)[OUTCOMES].sum()
    long = by_agent.melt(id_vars="from", value_vars=OUTCOMES, var_name="outcome", value_name="transfers")
    chart = alt.Chart(long).mark_bar().encode(
        x=alt.X("transfers:Q", title="transfers asked for", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("from:N", title="handed over by", sort="-x"),
        color=alt.Color("outcome:N", scale=alt.Scale(domain=OUTCOMES, range=OUTCOME_COLOURS),
                        legend=alt.Legend(orient="bottom")),
        tooltip=["from:N", "outcome:N", "transfers:Q"],
    ).properties(height=alt.Step(28))
    st.altair_chart(chart, width="stretch")
    st.dataframe(df, hide_index=True, width="stretch",
                 column_config={"accepted share": st.column_config.ProgressColumn(format="percent",
                                                                                  min_value=0, max_value=1)})
    csv_button(df, "transfers")
