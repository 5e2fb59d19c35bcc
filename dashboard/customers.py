"""Customers: find one by name, e-mail, mobile or external id, and see their record and every
conversation they had (newest activity first); click a conversation to read its transcript.
Create a customer and activate one (a sign-in link by mail, the code by SMS where a mobile is
known) through the engine's API (``engine_api.py``), so its rules are the engine's own.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import segno
import streamlit as st

from frontdesk.dashboard import common, conversations, db, engine_api

OPEN_KEY = "open_customer"
SETUP_KEY = "customer_setup"
LANGUAGES = {"en": "English", "de": "Deutsch"}
FIELD_LABELS = {"name": "Name", "email": "E-mail", "mobile": "Mobile", "external_id": "External id",
                "language": "Language"}
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
    _activation(who)
    _setup_instructions(who)
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


def _activation(who: dict[str, Any]) -> None:
    """Activate (again): the customer gets a sign-in link by mail and a code by SMS (or in the mail)."""
    channel = "by SMS to " + who["mobile"] if who["mobile"] else "in the mail"
    label = "Send the activation again" if who["activated_at"] else "Activate chat for this customer"

    @st.dialog("Activate chat")
    def confirm() -> None:
        st.markdown(f"**{common.md(who['name'])}** gets a mail at **{common.md(who['email'])}** with a link to "
                    f"sign in, and a one-time code {common.md(channel)}. The first sign-in asks for a password.")
        ok_col, cancel_col = st.columns(2)
        if ok_col.button("Send", type="primary", key="activate_send", width="stretch"):
            try:
                answer = engine_api.call(common.require_supervisor()["id"], "POST",
                                         f"/api/customers/{who['id']}/activate")
            except engine_api.EngineUnreachable as exc:
                st.error(str(exc))
                return
            if answer.ok:
                st.session_state[SETUP_KEY] = {"customer": who["id"], "link": answer.body.get("signin_link")}
                sent_by = "SMS" if answer.body.get("code_sent_by") == "sms" else "e-mail"
                common.flash(f"Activation sent to {who['email']} (the code by {sent_by}).")
                st.rerun()
            st.error(answer.error.get("message") or f"The engine answered {answer.status}.")
        if cancel_col.button("Cancel", key="activate_cancel", width="stretch"):
            st.rerun()

    if st.button(label, icon=":material/send_to_mobile:", key="activate_open"):
        confirm()


def _setup_instructions(who: dict[str, Any]) -> None:
    """After an activation, what the customer was sent, to hand over or print at the counter too:
    the sign-in page's QR code and the steps (the activation mail carries the same)."""
    setup = st.session_state.get(SETUP_KEY) or {}
    if str(setup.get("customer")) != str(who["id"]) or not setup.get("link"):
        return
    link = str(setup["link"])
    with st.expander("Setup instructions for the customer's phone", expanded=True, icon=":material/qr_code_2:"):
        qr_col, steps_col = st.columns([1, 2])
        qr_col.image(qr_png(link), width=200, caption="The sign-in page")
        steps_col.markdown(
            "1. Scan this QR code with the phone's camera, or open the link below.\n"
            f"2. Enter the e-mail address **{common.md(who['email'])}** and the activation code "
            f"({'sent by SMS' if who['mobile'] else 'in the mail'}).\n"
            "3. Choose a password: from then on the customer signs in with it, or with a code by mail.")
        steps_col.code(link, language=None)


def qr_png(text: str) -> bytes:
    """A PNG of a QR code holding ``text`` (segno, as the engine's activation mail)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=5, border=4)
    return out.getvalue()


def _new_customer(who: dict[str, str]) -> None:
    with st.expander("New customer", icon=":material/person_add:"):
        with st.form("new_customer", clear_on_submit=False):
            c1, c2 = st.columns(2)
            name = c1.text_input("Name", key="nc_name", max_chars=200)
            email = c2.text_input("E-mail", key="nc_email", max_chars=254)
            c3, c4, c5 = st.columns([2, 2, 1])
            mobile = c3.text_input("Mobile (optional)", key="nc_mobile", placeholder="+49151…", max_chars=16,
                                   help="International format: + and 8 to 15 digits. Unique across customers.")
            external_id = c4.text_input("External id (optional)", key="nc_external_id", max_chars=200,
                                        help="The id your business app knows the customer by; "
                                             "it never changes.")
            language = c5.selectbox("Language", list(LANGUAGES), key="nc_language",
                                    format_func=lambda code: LANGUAGES[code])
            submitted = st.form_submit_button("Create", type="primary")
        if not submitted:
            return
        body: dict[str, Any] = {"name": name.strip(), "email": email.strip(), "language": language}
        if mobile.strip():
            body["mobile"] = mobile.strip()
        if external_id.strip():
            body["external_id"] = external_id.strip()
        try:
            answer = engine_api.call(who["id"], "POST", "/api/customers", body)
        except engine_api.EngineUnreachable as exc:
            st.error(str(exc))
            return
        if not answer.ok:
            error = answer.error
            field = FIELD_LABELS.get(str(error.get("field")), error.get("field") or "")
            if error.get("code") == "duplicate":
                st.error(f"{field}: another customer has this already.")
            else:
                st.error(f"{field + ': ' if field else ''}{error.get('message') or answer.status}")
            return
        common.reset_widgets("nc_")
        common.flash(f"Customer {answer.body.get('name')} created.")
        st.session_state[OPEN_KEY] = str(answer.body["id"])
        st.query_params["customer"] = str(answer.body["id"])
        st.rerun()


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
        common.show_flash()
        _detail(str(wanted), tz)
        return
    st.title("Customers")
    common.show_flash()
    _new_customer(common.require_supervisor())
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
