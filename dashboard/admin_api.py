"""The administration pages' calls to the engine's admin API (``engine_api.py``): the engine
validates every change and writes its audit row, so these pages hold no rule of their own.

``send`` makes one call as the signed-in supervisor and shows its refusal at once (the field by
its label, then the reason, as plain text); ``fetch`` reads a list for a page.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from frontdesk.dashboard import common, engine_api


def fetch(path: str, key: str) -> list[dict[str, Any]] | None:
    """The list ``key`` of ``GET path``, or None after showing why it could not be read."""
    who = common.require_supervisor()
    try:
        answer = engine_api.call(who["id"], "GET", path)
    except engine_api.EngineUnreachable as exc:
        st.error(common.md(exc))
        return None
    if not answer.ok:
        show_refusal(answer, {})
        return None
    return list(answer.body.get(key) or [])


def show_refusal(answer: engine_api.ApiAnswer, labels: dict[str, str]) -> None:
    """The field first (bold), then the engine's reason, both shown exactly as written."""
    label, message = engine_api.error_parts(answer, labels)
    st.error(f"**{common.md(label)}**: {common.md(message)}" if label else common.md(message),
             icon=":material/error:")


def send(method: str, path: str, body: dict[str, Any] | None, labels: dict[str, str]) -> dict[str, Any] | None:
    """The engine's answer to a change, or None after showing its refusal."""
    who = common.require_supervisor()
    try:
        answer = engine_api.call(who["id"], method, path, body)
    except engine_api.EngineUnreachable as exc:
        st.error(common.md(exc))
        return None
    if not answer.ok:
        show_refusal(answer, labels)
        return None
    return answer.body
