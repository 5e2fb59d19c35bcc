"""Agents and supervisors: create them, change name, e-mail, capacity and queues, disable or enable
them, give them a new password. Every change goes through the engine's admin API
(``admin_api.py``), which applies it to the running engine at once and audits it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from frontdesk.dashboard import admin_api, common

LABELS = {"name": "Name", "email": "E-mail", "password": "Password", "capacity": "Capacity", "queues": "Queues",
          "disabled": "Disabled"}
MIN_PASSWORD_CHARS = 10     # the engine's rule; it refuses a shorter one with its own message too


def _agents_table(agents: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{"Name": a["name"], "E-mail": a["email"], "Capacity": a["capacity"],
                          "Queues": ", ".join(a["queues"]) or "—", "Presence": a["presence"],
                          "Open chats": a["open_conversations"],
                          "Status": "disabled" if a["disabled"] else "active"} for a in agents])


def _new_person(kind: str, queue_names: list[str]) -> None:
    agent = kind == "agent"
    with st.expander(f"New {kind}", icon=":material/person_add:"):
        with st.form(f"new_{kind}"):
            c1, c2 = st.columns(2)
            name = c1.text_input("Name", key=f"new_{kind}_name", max_chars=200)
            email = c2.text_input("E-mail", key=f"new_{kind}_email", max_chars=254)
            password = c1.text_input("Password", key=f"new_{kind}_password", type="password",
                                     help=f"At least {MIN_PASSWORD_CHARS} characters; tell it to them in person.")
            body: dict[str, Any] = {}
            if agent:
                body["capacity"] = c2.number_input("Capacity (chats at once)", key="new_agent_capacity", min_value=0,
                                                   max_value=50, value=3, step=1)
                body["queues"] = st.multiselect("Queues", queue_names, key="new_agent_queues")
            submitted = st.form_submit_button("Create", type="primary")
        if not submitted:
            return
        body.update({"name": name.strip(), "email": email.strip(), "password": password})
        created = admin_api.send("POST", f"/api/{kind}s", body, LABELS)
        if created is not None:
            common.reset_widgets(f"new_{kind}_")
            common.flash(f"{kind.capitalize()} {created['name']} created.")
            st.rerun()


def _edit_person(kind: str, people: list[dict[str, Any]], queue_names: list[str]) -> None:
    st.subheader(f"Edit {'an agent' if kind == 'agent' else 'a supervisor'}")
    if not people:
        st.info(f"No {kind}s yet.")
        return
    by_id = {p["id"]: p for p in people}
    chosen = st.selectbox(kind.capitalize(), list(by_id), key=f"edit_{kind}_choice",
                          format_func=lambda i: f"{by_id[i]['name']} · {by_id[i]['email']}"
                          + (" (disabled)" if by_id[i]["disabled"] else ""))
    p = by_id[chosen]
    with st.form(f"edit_{kind}_{chosen}"):
        c1, c2 = st.columns(2)
        name = c1.text_input("Name", value=p["name"], key=f"edit_{kind}_name_{chosen}", max_chars=200)
        email = c2.text_input("E-mail", value=p["email"], key=f"edit_{kind}_email_{chosen}", max_chars=254)
        body: dict[str, Any] = {}
        if kind == "agent":
            body["capacity"] = c1.number_input("Capacity (chats at once)", value=int(p["capacity"]), min_value=0,
                                               max_value=50, step=1, key=f"edit_agent_capacity_{chosen}")
            body["queues"] = c2.multiselect("Queues", queue_names, default=[q for q in p["queues"] if q in queue_names],
                                            key=f"edit_agent_queues_{chosen}")
        disabled = st.checkbox("Disabled (cannot sign in; signed out at once, chats go back to the queue)",
                               value=p["disabled"], key=f"edit_{kind}_disabled_{chosen}")
        save = st.form_submit_button("Save changes", type="primary")
    if save:
        body.update({"name": name.strip(), "email": email.strip(), "disabled": disabled})
        if admin_api.send("PATCH", f"/api/{kind}s/{chosen}", body, LABELS) is not None:
            common.flash(f"Saved {name.strip()}.")
            st.rerun()
    with st.form(f"reset_{kind}_{chosen}", clear_on_submit=True):
        password = st.text_input("New password", type="password", key=f"reset_{kind}_password_{chosen}",
                                 help=f"At least {MIN_PASSWORD_CHARS} characters. Their open sessions go on.")
        reset = st.form_submit_button("Reset password")
    if reset and admin_api.send("PATCH", f"/api/{kind}s/{chosen}", {"password": password}, LABELS) is not None:
        common.flash(f"The password of {p['name']} was reset.")
        st.rerun()


def render() -> None:
    common.require_supervisor()
    st.title("Agents and supervisors")
    common.show_flash()
    agents = admin_api.fetch("/api/agents", "agents")
    queues = admin_api.fetch("/api/queues", "queues")
    supervisors = admin_api.fetch("/api/supervisors", "supervisors")
    if agents is None or queues is None or supervisors is None:
        return
    queue_names = [q["name"] for q in queues]
    agents_tab, supervisors_tab = st.tabs(["Agents", "Supervisors"])
    with agents_tab:
        if agents:
            st.dataframe(_agents_table(agents), hide_index=True, key="agents_table")
        else:
            st.info("No agents yet: create the first one below.")
        _new_person("agent", queue_names)
        _edit_person("agent", agents, queue_names)
    with supervisors_tab:
        st.dataframe(pd.DataFrame([{"Name": s["name"], "E-mail": s["email"],
                                    "Status": "disabled" if s["disabled"] else "active"} for s in supervisors]),
                     hide_index=True, key="supervisors_table")
        _new_person("supervisor", [])
        _edit_person("supervisor", supervisors, [])


if __name__ == "__main__":
    render()
