"""FAQ entries per queue: what customers are offered while they type their question (PostgreSQL
full-text search in the queue's language). Each entry takes the text-search configuration of its
queue (``queues.language`` → ``faq_entries.language``), so it is stemmed the queue's way.
Changes go through the engine's admin API (``admin_api.py``), which validates and audits them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from frontdesk.dashboard import admin_api, common, db, forms

LABELS = {"queue": "Queue", "question": "Question", "answer": "Answer"}


def render() -> None:
    common.require_supervisor()
    st.title("FAQ entries")
    if st.session_state.pop("faq_reset_new", False):
        common.reset_widgets("faq_new_")
    common.show_flash()
    with common.connection() as conn:
        queue_rows = {q["name"]: q for q in db.queues(conn)}
        if not queue_rows:
            st.info("There are no queues yet.")
            return
        queue = st.selectbox("Queue", list(queue_rows), key="faq_queue")
        language = queue_rows[queue]["language"]
        if not db.text_search_config_exists(conn, language):
            st.error(f"Queue {common.md(queue)} has the language “{common.md(language)}”, which this PostgreSQL "
                     "has no text-search configuration for: entries cannot be indexed. Fix queues.language first.")
            return
        entries = db.faq_entries(conn, queue)
        st.caption(f"{len(entries)} entries · searched with the “{common.md(language)}” text-search configuration")
        if entries:
            st.dataframe(pd.DataFrame([{"Question": e["question"], "Answer": e["answer"], "Language": e["language"]}
                                       for e in entries]), hide_index=True, key=f"faq_table_{queue}")
        new_col, edit_col = st.columns(2)
        with new_col:
            st.subheader("New entry")
            with st.form("faq_new"):
                question = st.text_input("Question", key="faq_new_question", max_chars=forms.MAX_QUESTION_CHARS)
                answer = st.text_area("Answer", key="faq_new_answer", height=140)
                submitted = st.form_submit_button("Create", type="primary")
            if submitted:
                created = admin_api.send("POST", "/api/faq", {"queue": queue, "question": question,
                                                              "answer": answer}, LABELS)
                if created is not None:
                    common.flash(f"Added “{created['question']}” to {queue}.")
                    st.session_state["faq_reset_new"] = True
                    st.rerun()
        with edit_col:
            st.subheader("Edit or delete")
            if not entries:
                st.caption("Nothing to edit yet.")
                return
            by_id = {str(e["id"]): e for e in entries}
            chosen = st.selectbox("Entry", list(by_id), key=f"faq_edit_choice_{queue}",
                                  format_func=lambda i: by_id[i]["question"])
            e = by_id[chosen]
            with st.form(f"faq_edit_{chosen}"):
                target = st.selectbox("Queue", list(queue_rows), index=list(queue_rows).index(queue),
                                      key=f"faq_edit_queue_{chosen}")
                question = st.text_input("Question", value=e["question"], key=f"faq_edit_question_{chosen}",
                                         max_chars=forms.MAX_QUESTION_CHARS)
                answer = st.text_area("Answer", value=e["answer"], key=f"faq_edit_answer_{chosen}", height=140)
                save = st.form_submit_button("Save changes", type="primary")
            if save:
                saved = admin_api.send("PATCH", f"/api/faq/{chosen}", {"queue": target, "question": question,
                                                                       "answer": answer}, LABELS)
                if saved is not None:
                    common.flash(f"Saved “{saved['question']}”.")
                    st.rerun()
            confirm = st.checkbox("Yes, delete this entry", key=f"faq_delete_confirm_{chosen}")
            if st.button("Delete", key=f"faq_delete_{chosen}", disabled=not confirm, icon=":material/delete:"):
                if admin_api.send("DELETE", f"/api/faq/{chosen}", None, LABELS) is None:
                    return
                common.flash(f"Deleted “{e['question']}”.")
                common.reset_widgets(f"faq_edit_choice_{queue}")
                st.rerun()


if __name__ == "__main__":
    render()
