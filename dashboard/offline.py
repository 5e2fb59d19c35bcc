"""Offline requests: what customers left when nobody could take their chat. List and filter
them, read one, mark it handled (by the signed-in supervisor: supervisors are staff rows too).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from frontdesk.dashboard import common, conversations, db

PAGE_SIZE = 50
STATUS_CHOICES = {"open": "Open", "handled": "Handled", None: "All"}
OPEN_KEY = "open_offline_request"


def number(n: int) -> str:
    return f"REQ-{n:06d}"


def _table(rows: list[dict[str, Any]], tz: Any) -> pd.DataFrame:
    return pd.DataFrame([{
        "Request": number(r["request_number"]),
        "Received": common.fmt_time(r["created_at"], tz),
        "Queue": r["queue"],
        "Name": r["name"],
        "E-mail": r["email"],
        "Question": (r["question"] or "")[:100],
        "Status": "✔ handled" if r["status"] == "handled" else "● open",
        "Handled by": r["handled_by_name"] or "",
    } for r in rows])


def render() -> None:
    who = common.require_supervisor()
    tz = common.local_tz()
    st.title("Offline requests")
    common.show_flash()
    with common.connection() as conn:
        queue_names = [q["name"] for q in db.queues(conn)]
        c1, c2, c3, c4 = st.columns([2, 1, 2, 1])
        queues = c1.multiselect("Queue", queue_names, key="off_queues", placeholder="all queues")
        status = c2.selectbox("Status", list(STATUS_CHOICES), key="off_status",
                              format_func=lambda s: STATUS_CHOICES[s])
        text = c3.text_input("Search", key="off_text", placeholder="name, e-mail, question or REQ-number")
        newest = c4.selectbox("Order", [False, True], key="off_newest",
                              format_func=lambda n: "newest first" if n else "oldest first")
        flt = (tuple(queues), status, text, newest)
        if st.session_state.get("off_last_filter") != flt:
            st.session_state["off_last_filter"] = flt
            st.session_state["off_page"] = 0
        page = int(st.session_state.get("off_page", 0))
        rows = db.offline_requests(conn, queues=queues, status=status, text=text or "", newest_first=newest,
                                   limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE)
        has_next = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        if not rows:
            st.info("No offline request matches these filters.")
        else:
            st.caption(f"Page {page + 1} · {len(rows)} requests · times in {common.tz_name(tz)} · "
                       "click a row to read it")
            event = st.dataframe(_table(rows, tz), hide_index=True, key=f"off_table_{abs(hash(flt))}_{page}",
                                 on_select="rerun", selection_mode="single-row")
            selected = list(getattr(getattr(event, "selection", None), "rows", []) or [])
            if selected:
                st.session_state[OPEN_KEY] = str(rows[selected[0]]["id"])
        prev_col, _, next_col = st.columns([1, 2, 1])
        if prev_col.button("◀ Previous", disabled=page == 0, key="off_prev"):
            st.session_state["off_page"] = page - 1
            st.rerun()
        if next_col.button("Next ▶", disabled=not has_next, key="off_next"):
            st.session_state["off_page"] = page + 1
            st.rerun()

        request_id = st.session_state.get(OPEN_KEY)
        if request_id:
            st.divider()
            _detail(conn, str(request_id), who, tz)


def _detail(conn: db.Conn, request_id: str, who: dict[str, str], tz: Any) -> None:
    r = db.offline_request(conn, request_id)
    if r is None:
        st.error("No such offline request.")
        return
    md = common.md
    st.subheader(f"{number(r['request_number'])} · {md(r['name'])}")
    left, right = st.columns([3, 2])
    with left:
        st.markdown(f"**From:** {md(r['name'])} {md('<' + r['email'] + '>')}  \n**Queue:** {md(r['queue'])}  \n"
                    f"**Received:** {common.fmt_time(r['created_at'], tz)}")
        st.markdown("**Question**")
        st.text(r["question"])
    with right:
        if r["status"] == "handled":
            st.success(f"Handled by {md(r['handled_by_name'] or 'someone')} at {common.fmt_time(r['handled_at'], tz)}")
        else:
            st.warning("Open — nobody has answered it yet.")
            if st.button("Mark handled", type="primary", key="off_mark_handled", icon=":material/done:"):
                done = db.mark_offline_handled(conn, request_id, who["id"]) is not None
                common.flash(f"{number(r['request_number'])} marked handled." if done
                             else "Someone else marked it handled in the meantime.")
                st.rerun()
        if r["conversation_id"]:
            st.caption("This request came from a chat that waited too long.")
            if st.button("Open its chat transcript", key="off_open_chat"):
                st.session_state[conversations.OPEN_KEY] = str(r["conversation_id"])
                st.switch_page("conversations.py")


if __name__ == "__main__":
    render()
