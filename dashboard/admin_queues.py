"""Queues: create them and change their mode, members, required fields, FAQ suggestions, identity
secret, transcript mails, retention, sender name and the notification mail's lines per language
(with a preview the engine composes). Every change goes through the engine's admin API
(``admin_api.py``), which applies it to the running engine at once and audits it. Opening hours
have their own page.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from frontdesk.dashboard import admin_api, common

LABELS = {"name": "Name", "title": "Title", "mode": "Mode", "members": "Members", "required_fields": "Required fields",
          "faq_suggestions": "FAQ suggestions", "transcript_mails": "Transcript mails",
          "retention_days": "Retention", "identity_secret": "Identity secret", "sender_name": "Sender name",
          "mail_templates": "Mail templates", "language": "Language"}
MODES = {"live": "live (a chat ends when the customer leaves)",
         "messaging": "messaging (conversations outlive the page)"}
LANGUAGES = {"en": "English", "de": "Deutsch"}
TEMPLATE_LINES = {"sender_name": "Sender name", "subject": "Subject", "hello": "Greeting", "intro": "Introduction",
                  "open": "Before the link", "note": "Note under the link"}


def _table(queues: list[dict[str, Any]], agent_names: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Queue": q["name"], "Title": q["title"], "Mode": q["mode"],
        "Members": ", ".join(sorted(agent_names.get(m, m) for m in q["members"])) or "—",
        "Required fields": ", ".join(q["required_fields"]) or "—", "FAQ": "on" if q["faq_suggestions"] else "off",
        "Transcripts": "on" if q["transcript_mails"] else "off",
        "Retention": f"{q['retention_days']} days" if q["retention_days"] else "kept",
        "Identity secret": "set" if q["identity_secret"] else "—", "Sender name": q["sender_name"] or "—",
    } for q in queues])


def _new_queue() -> None:
    with st.expander("New queue", icon=":material/add:"):
        with st.form("new_queue"):
            c1, c2, c3 = st.columns(3)
            name = c1.text_input("Name", key="new_queue_name", max_chars=63,
                                 help="Lower-case letters, digits, _ and -: it is in the chat's address.")
            title = c2.text_input("Title", key="new_queue_title", max_chars=200)
            mode = c3.selectbox("Mode", list(MODES), key="new_queue_mode", format_func=MODES.__getitem__)
            submitted = st.form_submit_button("Create", type="primary")
        if submitted:
            created = admin_api.send("POST", "/api/queues", {"name": name.strip(), "title": title.strip(),
                                                             "mode": mode}, LABELS)
            if created is not None:
                common.reset_widgets("new_queue_")
                common.flash(f"Queue {created['name']} created: always open until you set its hours.")
                st.rerun()


def _settings(q: dict[str, Any], agent_names: dict[str, str]) -> None:
    key = q["name"]
    with st.form(f"queue_{key}"):
        c1, c2 = st.columns(2)
        title = c1.text_input("Title", value=q["title"], key=f"q_title_{key}", max_chars=200)
        mode = c2.selectbox("Mode", list(MODES), index=list(MODES).index(q["mode"]), key=f"q_mode_{key}",
                            format_func=MODES.__getitem__)
        members = st.multiselect("Members (agents)", list(agent_names), default=q["members"],
                                 format_func=lambda i: agent_names.get(i, i), key=f"q_members_{key}")
        required = st.text_area("Required fields of the pre-chat form (one name per line)",
                                value="\n".join(q["required_fields"]), key=f"q_required_{key}", height=80)
        c3, c4 = st.columns(2)
        faq = c3.toggle("FAQ suggestions while the customer types", value=q["faq_suggestions"], key=f"q_faq_{key}")
        transcripts = c4.toggle("Customers may ask for the transcript by mail", value=q["transcript_mails"],
                                key=f"q_transcripts_{key}")
        c5, c6 = st.columns(2)
        retention = c5.number_input("Retention in days (0: kept)", min_value=0, max_value=36_500,
                                    value=int(q["retention_days"] or 0), step=1, key=f"q_retention_{key}")
        sender = c6.text_input("Sender name of its mails", value=q["sender_name"] or "", key=f"q_sender_{key}",
                               max_chars=100, help="Shown as the From name; the address is FRONTDESK_MAIL_FROM's.")
        secret = st.text_input("Identity secret (verified customers)", value="", type="password",
                               key=f"q_secret_{key}", placeholder="set — type a new one to replace it"
                               if q["identity_secret"] else "not set",
                               help="At least 16 characters. Leave empty to keep it.")
        clear_secret = st.checkbox("Remove the identity secret", value=False, key=f"q_secret_clear_{key}",
                                   disabled=not q["identity_secret"])
        save = st.form_submit_button("Save changes", type="primary")
    if not save:
        return
    body: dict[str, Any] = {
        "title": title.strip(), "mode": mode, "members": members,
        "required_fields": [line.strip() for line in required.splitlines() if line.strip()],
        "faq_suggestions": faq, "transcript_mails": transcripts, "retention_days": int(retention) or None,
        "sender_name": sender.strip() or None,
    }
    if clear_secret:
        body["identity_secret"] = None
    elif secret:
        body["identity_secret"] = secret
    if admin_api.send("PATCH", f"/api/queues/{key}", body, LABELS) is not None:
        common.flash(f"Saved queue {key}.")
        st.rerun()


def _templates(q: dict[str, Any]) -> None:
    key = q["name"]
    st.subheader("Notification mail per language")
    st.caption("Leave a line empty for the standard text. {name} and {queue} are filled in.")
    language = st.radio("Language", list(LANGUAGES), format_func=LANGUAGES.__getitem__, horizontal=True,
                        key=f"q_tpl_lang_{key}")
    stored = (q["mail_templates"] or {}).get(language) or {}
    with st.form(f"q_tpl_{key}_{language}"):
        lines = {line: st.text_input(label, value=stored.get(line, ""), max_chars=2000,
                                     key=f"q_tpl_{key}_{language}_{line}")
                 for line, label in TEMPLATE_LINES.items()}
        c1, c2 = st.columns(2)
        preview = c1.form_submit_button("Preview", icon=":material/visibility:")
        save = c2.form_submit_button("Save template", type="primary")
    templates = {**(q["mail_templates"] or {}), language: {k: v for k, v in lines.items() if v.strip()}}
    if preview:
        shown = admin_api.send("POST", f"/api/queues/{key}/mail-preview",
                               {"language": language, "mail_templates": templates}, LABELS)
        if shown is not None:
            st.caption(f"From: {common.md(shown['sender_name'] or '(FRONTDESK_MAIL_FROM)')}")
            st.caption(f"Subject: {common.md(shown['subject'])}")
            st.code(shown["text"], language=None, wrap_lines=True)
    if save and admin_api.send("PATCH", f"/api/queues/{key}", {"mail_templates": templates}, LABELS) is not None:
        common.flash(f"Saved the {LANGUAGES[language]} mail of queue {key}.")
        st.rerun()


def render() -> None:
    common.require_supervisor()
    st.title("Queues")
    common.show_flash()
    queues = admin_api.fetch("/api/queues", "queues")
    agents = admin_api.fetch("/api/agents", "agents")
    if queues is None or agents is None:
        return
    agent_names = {a["id"]: a["name"] + (" (disabled)" if a["disabled"] else "") for a in agents}
    if queues:
        st.dataframe(_table(queues, agent_names), hide_index=True, key="queues_table")
    else:
        st.info("No queues yet: create the first one below.")
    _new_queue()
    if not queues:
        return
    by_name = {q["name"]: q for q in queues}
    chosen = st.selectbox("Queue to change", list(by_name), key="queue_choice")
    _settings(by_name[chosen], agent_names)
    _templates(by_name[chosen])


if __name__ == "__main__":
    render()
