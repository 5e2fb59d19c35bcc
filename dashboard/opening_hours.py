"""Opening hours per queue: always open, never open (offline requests only), or a weekly
schedule in a time zone with holidays and special days. What is typed becomes the JSON schedule
of ``core/hours.py`` and is judged by ``hours.parse_schedule`` — the parser the engine serves
queues with — and refused with the offending field named. The schedule and the closed message
are saved through the engine's admin API (``PATCH /api/queues/{queue}``, ``admin_api.py``), which
judges them with the same parser, stores the canonical JSON and audits the change; its commit
fires the schema's trigger that NOTIFYs every engine, which reloads its queue settings at once.
"""

from __future__ import annotations

import streamlit as st

from frontdesk.core import hours
from frontdesk.dashboard import admin_api, common, db, forms, overview

MODE_LABELS = {"weekly": "Weekly schedule", "always": "Always open", "never": "Never open (offline requests only)"}
EXAMPLE_ZONES = "Europe/Berlin, Europe/London, America/New_York, Asia/Tokyo, UTC"
LABELS = {"opening_hours": "Opening hours", "closed_message": "Closed message"}


def render() -> None:
    common.require_supervisor()
    st.title("Opening hours")
    common.show_flash()
    with common.connection() as conn:
        queue_rows = {q["name"]: q for q in db.queues(conn)}
        if not queue_rows:
            st.info("There are no queues yet.")
            return
        queue = st.selectbox("Queue", list(queue_rows), key="hours_queue")
        row = queue_rows[queue]
        key = f"hours_{queue}_"
        if st.session_state.pop(f"hours_reset_{queue}", False):
            common.reset_widgets(key)
        is_open, status = overview.opening_status(row["opening_hours"], common.now_utc())
        (st.success if is_open else st.warning if is_open is False else st.error)(f"Right now: {common.md(status)}")
        values = forms.form_values(row["opening_hours"])

        with st.form(f"hours_form_{queue}"):
            mode = st.radio("Kind", list(MODE_LABELS), index=list(MODE_LABELS).index(values["mode"]),
                            format_func=MODE_LABELS.__getitem__, horizontal=True, key=key + "mode")
            timezone = st.text_input("Time zone (IANA name)", value=values["timezone"], key=key + "timezone",
                                     help=f"For example {EXAMPLE_ZONES}. All times and dates below are local to it.")
            st.markdown("**Weekly hours** — e.g. `09:00-12:00, 13:00-17:00`; empty = closed; an interval "
                        "ending after midnight (`22:00-02:00`) runs into the next day; `24:00` may end a day. "
                        "Ignored unless the kind is *Weekly schedule*.")
            weekly: dict[str, str] = {}
            left, right = st.columns(2)
            for i, day in enumerate(hours.DAY_NAMES):
                column = left if i < 4 else right
                weekly[day] = column.text_input(forms.DAY_LABELS[day], value=values["weekly"][day], key=key + day)
            left, right = st.columns(2)
            holidays_text = left.text_area("Holidays (closed all day; one date YYYY-MM-DD per line)",
                                           value=values["holidays"], key=key + "holidays", height=120)
            special_text = right.text_area("Special days (replace the weekday's hours; one per line)",
                                           value=values["special_days"], key=key + "special", height=120,
                                           placeholder="2026-12-24: 09:00-12:00\n2026-12-31: closed")
            closed_text = st.text_area("Message customers see while the queue is closed",
                                       value=row["closed_message"], key=key + "closed", height=80)
            submitted = st.form_submit_button("Save opening hours", type="primary")

        if submitted:
            try:
                schedule = forms.schedule_from_form(mode, timezone, weekly, holidays_text, special_text)
            except hours.ScheduleError as exc:
                st.error(f"Not saved. **{common.md(forms.describe_field(exc.field))}** "
                         f"({common.md_code(exc.field or 'schedule')}): {common.md(exc.message)}")
            else:
                saved = admin_api.send("PATCH", f"/api/queues/{queue}",
                                       {"opening_hours": schedule, "closed_message": closed_text}, LABELS)
                if saved is not None:
                    _, after = overview.opening_status(saved["opening_hours"], common.now_utc())
                    common.flash(f"Saved the opening hours of {queue}. Now: {after}")
                    st.session_state[f"hours_reset_{queue}"] = True
                    st.rerun()

        with st.expander("Stored schedule (JSON)"):
            st.json(row["opening_hours"])


if __name__ == "__main__":
    render()
