"""The supervisor dashboard: ``streamlit run dashboard/app.py`` (``frontdesk dashboard``).

Sign-in gates everything: until a supervisor has signed in, every page's address shows the sign-in
form only, so no other page (and no query) runs, whatever URL is opened; after sign-in the same
address shows its page. The session is checked in the database on every run and survives a reload
through an HttpOnly cookie (``common.resume_session``, ``server.py``). Each page also checks
``common.require_supervisor()`` itself. Pages are the files beside this one; each reads and
writes the database through ``db.py`` only.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from frontdesk.dashboard import common, signin

HERE = Path(__file__).resolve().parent

PAGES = {
    "Monitor": [
        ("overview.py", "Live overview", ":material/monitoring:"),
        ("conversations.py", "Conversations", ":material/forum:"),
        ("customers.py", "Customers", ":material/contacts:"),
        ("offline.py", "Offline requests", ":material/mark_email_unread:"),
        ("reports.py", "Reports", ":material/bar_chart:"),
        ("staffing.py", "Staffing forecast", ":material/groups:"),
    ],
    "Configure": [
        ("admin_agents.py", "Agents and supervisors", ":material/badge:"),
        ("admin_queues.py", "Queues", ":material/alt_route:"),
        ("canned.py", "Canned messages", ":material/quickreply:"),
        ("opening_hours.py", "Opening hours", ":material/schedule:"),
        ("faq.py", "FAQ entries", ":material/help:"),
        ("audit.py", "Audit log", ":material/history:"),
    ],
}


# Streamlit's theme has no button size: at phone width buttons get the console's touch height.
TOUCH_CSS = """<style>
@media (max-width: 640px) {
  .stButton button, .stFormSubmitButton button, .stDownloadButton button, .stLinkButton a { min-height: 2.75rem; }
}
</style>"""


def main() -> None:
    st.set_page_config(page_title="Frontdesk · Supervisor", page_icon="🛎️", layout="wide")
    st.set_option("client.toolbarMode", "minimal")  # no "Deploy" or developer menu for supervisors
    problem = common.database_problem()
    if problem is not None:
        st.title("🛎️ Frontdesk")
        st.error(problem)
        st.stop()
    who = common.resume_session()
    script = common.session_cookie_script()
    if script is not None:
        st.html(script, unsafe_allow_javascript=True)
    st.html(TOUCH_CSS)
    if who is None:
        # every page's address leads to the sign-in form, so a deep link survives signing in
        st.navigation([st.Page(signin.render, title="Sign in", icon=":material/login:", url_path=Path(path).stem,
                               default=(path == "overview.py"))
                       for pages in PAGES.values() for path, _, _ in pages], position="hidden").run()
        return
    with st.sidebar:
        st.markdown(f"**🛎️ Frontdesk** · signed in as **{common.md(who['name'])}**")
        st.caption(common.md(who["email"]))
        if st.button("Sign out", icon=":material/logout:", key="sign_out"):
            signin.sign_out()
            st.rerun()
    sections = {
        section: [st.Page(str(HERE / path), title=title, icon=icon, default=(path == "overview.py"))
                  for path, title, icon in pages]
        for section, pages in PAGES.items()
    }
    st.navigation(sections).run()


main()
