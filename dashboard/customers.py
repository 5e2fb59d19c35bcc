"""Customers: find one by name, e-mail, mobile or external id, and see their record and every
conversation they had (newest activity first); click a conversation to read its transcript.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from frontdesk.dashboard import common, conversations, db

OPEN_KEY = "open_customer"
# The wire's names for what the database stores (an owned conversation is "active").
STATUS_TEXT = {"queued": "waiting", "active": "open", "pending": "pending", "resolved": "resolved",
               "ended": "ended"}


def _customers_table(rows: list[dict[str, Any]], tz: Any) -> pd.DataFrame:
    return pd.DataFrame([{
        "Name": r["name"],
        "E-mail": r["email"],
        "Mobile": r["mobile"] or "",
        "External id": r["external_id"] or "",
        "Conversations": int(r["conversations"] or 0),
        "Since": common.fmt_time(r["created_at"], tz),
        "Activated": common.fmt_time(r["activated_at"], tz) if r["activated_at"] else "—",
    } for r in rows])


def _conversations_table(rows: list[dict[str, Any]], tz: Any) -> pd.DataFrame:
    return pd.DataFrame([{
        "Last activity": common.fmt_time(r["last_activity_at"], tz),
        "Started": common.fmt_time(r["created_at"], tz),
        "Queue": r["queue"],
        "Status": STATUS_TEXT.get(r["status"], r["status"]),
        "Agent": r["agent_name"] or "—",
        "Messages": int(r["message_count"] or 0),
    } for r in rows])


def _detail(customer_id: str, tz: Any) -> None:
    with common.connection() as conn:
        who = db.customer(conn, customer_id)
        rows = db.customer_conversations(conn, customer_id) if who else []
    if who is None:
        st.error("No such customer.")
        return
    st.title(who["name"])
    c1, c2, c3, c4 = st.columns(4)
    c1.markdown(f"**E-mail**  \n{common.md(who['email'])}")
    c2.markdown(f"**Mobile**  \n{common.md(who['mobile'] or '—')}")
    c3.markdown(f"**External id**  \n{common.md(who['external_id'] or '—')}")
    activated = common.fmt_time(who["activated_at"], tz) if who["activated_at"] else "not activated"
    c4.markdown(f"**Language · activated**  \n{common.md(who['language'])} · {common.md(activated)}")
    st.subheader(f"Conversations ({len(rows)})")
    if not rows:
        st.info("No conversation yet.")
        return
    st.caption(f"newest activity first · times in {common.tz_name(tz)} · click a row to read it")
    event = st.dataframe(_conversations_table(rows, tz), hide_index=True, key="customer_conversations",
                         on_select="rerun", selection_mode="single-row")
    selected = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if selected:
        st.session_state[conversations.OPEN_KEY] = str(rows[selected[0]]["id"])
        st.switch_page("conversations.py")


def render() -> None:
    common.require_supervisor()
    tz = common.local_tz()
    wanted = st.session_state.get(OPEN_KEY) or st.query_params.get("customer")
    if wanted:
        if st.button("← Back to the search", key="back_to_customers"):
            st.session_state.pop(OPEN_KEY, None)
            st.query_params.pop("customer", None)
            common.reset_widgets("cust_table")
            st.rerun()
        _detail(str(wanted), tz)
        return
    st.title("Customers")
    text = st.text_input("Search", key="cust_text", placeholder="name, e-mail, mobile or external id")
    with common.connection() as conn:
        rows = db.customer_search(conn, text)
    if not rows:
        st.info("No customer matches." if text.strip() else "No customers yet: they appear with their first chat.")
        return
    st.caption(f"{len(rows)} shown, newest first · click a row to see the customer"
               + (f" (at most {db.CUSTOMER_PAGE})" if len(rows) == db.CUSTOMER_PAGE else ""))
    event = st.dataframe(_customers_table(rows, tz), hide_index=True, key="cust_table",
                         on_select="rerun", selection_mode="single-row")
    selected = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if selected:
        customer_id = str(rows[selected[0]]["id"])
        st.session_state[OPEN_KEY] = customer_id
        st.query_params["customer"] = customer_id
        st.rerun()


if __name__ == "__main__":
    render()
