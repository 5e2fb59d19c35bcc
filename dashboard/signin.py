"""Sign-in: supervisors only, checked against the same argon2 hashes the engine uses.

A wrong e-mail or password gets one message for both (the answer does not tell which accounts
exist; an unknown e-mail costs the same hashing time). An agent or any other non-supervisor with
the right password is refused as well. Nothing but this form is shown before sign-in, on whatever
page's address was opened: signing in then shows that page (a link to a transcript, opened in a
new tab, opens the transcript). The session itself is ``common.start_session``.
"""

from __future__ import annotations

import streamlit as st

from frontdesk.core import auth
from frontdesk.dashboard import common, db

WRONG_CREDENTIALS = "Wrong e-mail or password."
NOT_A_SUPERVISOR = "This dashboard is for supervisors only. Agents sign in to the agent app."


def check(email: str, password: str) -> tuple[dict[str, str] | None, str | None]:
    """(the supervisor, None) or (None, the reason to refuse)."""
    if not email.strip() or not password:
        return None, "Enter your e-mail address and password."
    with common.connection() as conn:
        row = db.staff_by_email(conn, email)
    if not auth.verify_password(row["password_hash"] if row else None, password) or row is None:
        return None, WRONG_CREDENTIALS
    if row["role"] != "supervisor":
        return None, NOT_A_SUPERVISOR
    return {"id": str(row["id"]), "name": row["name"], "email": row["email"]}, None


def sign_out() -> None:
    common.end_session()


def render() -> None:
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("🛎️ Frontdesk")
        st.subheader("Supervisor sign-in")
        with st.form("signin"):
            email = st.text_input("E-mail", key="signin_email", autocomplete="username")
            password = st.text_input("Password", type="password", key="signin_password",
                                     autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary", width="stretch")
        if submitted:
            who, error = check(email, password)
            if who is None:
                st.error(error or WRONG_CREDENTIALS)
                return
            if not common.start_session(who):
                st.error(WRONG_CREDENTIALS)
                return
            st.rerun()
