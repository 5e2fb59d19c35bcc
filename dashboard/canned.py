"""Canned messages: answers agents insert with one click, global or for one queue. Create, edit
and delete them here; titles must be unique within their scope (global, or one queue). The
placeholders {customer_name}, {agent_name} and {queue} are filled when an agent inserts one.
Changes go through the engine's admin API (``admin_api.py``), which validates and audits them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from frontdesk.dashboard import admin_api, common, db, forms

GLOBAL = ""  # the scope choice meaning "every queue" (queue NULL)


def scope_label(queue: str | None) -> str:
    return "🌐 all queues" if not queue else f"queue {queue}"


LABELS = {"title": "Title", "text": "Text", "queue": "For"}
PLACEHOLDER_HELP = ("{customer_name}, {agent_name} and {queue} are replaced by the customer's, the agent's and the "
                    "queue's names when an agent inserts the message.")


def render() -> None:
    common.require_supervisor()
    st.title("Canned messages")
    if st.session_state.pop("canned_reset_new", False):
        common.reset_widgets("canned_new_")
    common.show_flash()
    with common.connection() as conn:
        queue_names = [q["name"] for q in db.queues(conn)]
        rows = db.canned_messages(conn)
        scopes = [GLOBAL, *queue_names]
        shown = st.selectbox("Show", [None, *scopes], key="canned_filter",
                             format_func=lambda s: "everything" if s is None else scope_label(s))
        visible = [r for r in rows if shown is None or (r["queue"] or GLOBAL) == shown]
        if visible:
            st.dataframe(pd.DataFrame([{"Scope": scope_label(r["queue"]), "Title": r["title"], "Text": r["text"]}
                                       for r in visible]), hide_index=True, key="canned_table")
        else:
            st.info("No canned messages here yet.")

        new_col, edit_col = st.columns(2)
        with new_col:
            _new_form(conn, scopes)
        with edit_col:
            _edit_form(conn, rows, scopes)


def _new_form(conn: db.Conn, scopes: list[str]) -> None:
    st.subheader("New canned message")
    with st.form("canned_new"):
        scope = st.selectbox("For", scopes, key="canned_new_scope", format_func=scope_label)
        title = st.text_input("Title", key="canned_new_title", max_chars=forms.MAX_TITLE_CHARS)
        text = st.text_area("Text", key="canned_new_text", height=120, help=PLACEHOLDER_HELP)
        submitted = st.form_submit_button("Create", type="primary")
    if submitted:
        created = admin_api.send("POST", "/api/canned", {"title": title, "text": text, "queue": scope or None},
                                 LABELS)
        if created is None:
            return
        common.flash(f"Created “{created['title']}” for {scope_label(scope)}.")
        st.session_state["canned_reset_new"] = True
        st.rerun()


def _edit_form(conn: db.Conn, rows: list[dict[str, Any]], scopes: list[str]) -> None:
    st.subheader("Edit or delete")
    if not rows:
        st.caption("Nothing to edit yet.")
        return
    by_id = {str(r["id"]): r for r in rows}
    chosen = st.selectbox("Canned message", list(by_id), key="canned_edit_choice",
                          format_func=lambda i: f"{by_id[i]['title']} ({scope_label(by_id[i]['queue'])})")
    r = by_id[chosen]
    with st.form(f"canned_edit_{chosen}"):
        current = r["queue"] or GLOBAL
        scope = st.selectbox("For", scopes, index=scopes.index(current) if current in scopes else 0,
                             key=f"canned_edit_scope_{chosen}", format_func=scope_label)
        title = st.text_input("Title", value=r["title"], key=f"canned_edit_title_{chosen}",
                              max_chars=forms.MAX_TITLE_CHARS)
        text = st.text_area("Text", value=r["text"], key=f"canned_edit_text_{chosen}", height=120,
                            help=PLACEHOLDER_HELP)
        save = st.form_submit_button("Save changes", type="primary")
    if save:
        saved = admin_api.send("PATCH", f"/api/canned/{chosen}", {"title": title, "text": text,
                                                                 "queue": scope or None}, LABELS)
        if saved is None:
            return
        common.flash(f"Saved “{saved['title']}”.")
        st.rerun()
    confirm = st.checkbox(f"Yes, delete “{common.md(r['title'])}”", key=f"canned_delete_confirm_{chosen}")
    if st.button("Delete", key=f"canned_delete_{chosen}", disabled=not confirm, icon=":material/delete:"):
        if admin_api.send("DELETE", f"/api/canned/{chosen}", None, LABELS) is None:
            return
        common.flash(f"Deleted “{r['title']}”.")
        common.reset_widgets("canned_edit_choice")
        st.rerun()


if __name__ == "__main__":
    render()
