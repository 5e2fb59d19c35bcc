"""Audit log: every change made through the administration API — who, when, what, and the object
before and after (secrets masked, passwords never) — newest first, from the engine's
``GET /api/audit``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from frontdesk.dashboard import admin_api, common

PAGE = 500


def _when(value: str, tz: Any) -> str:
    return common.fmt_time(datetime.fromisoformat(value.replace("Z", "+00:00")), tz)


def render() -> None:
    common.require_supervisor()
    st.title("Audit log")
    tz = common.local_tz()
    since_day = st.date_input("Changes since", value=(datetime.now(tz) - timedelta(days=7)).date(),
                              key="audit_since")
    since = datetime.combine(since_day, time(0, 0), tzinfo=tz).astimezone(UTC)
    entries = admin_api.fetch(f"/api/audit?since={since.isoformat().replace('+00:00', 'Z')}&limit={PAGE}",
                              "entries")
    if entries is None:
        return
    if not entries:
        st.info("No changes since then.")
        return
    st.caption(f"{len(entries)} changes, newest first" + (f" (the newest {PAGE})" if len(entries) == PAGE else ""))
    st.dataframe(pd.DataFrame([{
        "When": _when(e["at"], tz), "Who": (e["actor"] or {}).get("name") or "—", "What": e["action"],
        "Target": e["target"],
    } for e in entries]), hide_index=True, key="audit_table")
    labels = {e["id"]: f"{_when(e['at'], tz)} · {e['action']} · {e['target']}" for e in entries}
    chosen = st.selectbox("Details of", list(labels), format_func=labels.__getitem__, key="audit_choice")
    entry = next(e for e in entries if e["id"] == chosen)
    before, after = st.columns(2)
    before.caption("Before")
    before.code(json.dumps(entry["before"], indent=2, ensure_ascii=False), language="json", wrap_lines=True)
    after.caption("After")
    after.code(json.dumps(entry["after"], indent=2, ensure_ascii=False), language="json", wrap_lines=True)


if __name__ == "__main__":
    render()
