"""One conversation as a supervisor reads it: every message, private notes marked unmistakably
(amber background, dashed border, "👁 private note"), and the system events between them (offers
and their outcomes, invitations, joins, leaves, the end, the customer's rating), in time order;
the rating and its comment also stand in the header.

Every string a customer, agent or supervisor supplied shows as typed: in the hand-built HTML it is
HTML-escaped with its line breaks as character references (``html_text``), so no blank line ends
the HTML block and lets the rest be read as Markdown; everywhere else it is escaped Markdown
(``common.md``). Attachments are offered for download from ``<data dir>/uploads/<attachment id>``
(read only when clicked).
"""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path
from typing import Any

import streamlit as st

from frontdesk.dashboard import common, db

PRIVATE_MARK = "👁 private note"
PRIVATE_HINT = "agents and supervisors only — never shown to the customer"

CSS = """
<style>
.fd-msg { border-radius: 10px; padding: 8px 12px; margin: 6px 0; max-width: 46rem; border: 1px solid #d9dce1; }
.fd-customer { background: #f3f4f6; margin-right: auto; }
.fd-agent { background: #e8f1fd; border-color: #bcd4f6; margin-left: 4rem; }
.fd-private { background: #fff4d6; border: 2px dashed #d99a00; margin-left: 4rem; }
.fd-system-msg { background: #eef7ee; border-color: #bfdcbf; margin-left: 2rem; }
.fd-meta { font-size: 0.8rem; color: #4b5563; margin-bottom: 2px; }
.fd-text { white-space: pre-wrap; word-wrap: break-word; color: #111827; }
.fd-private-badge { background: #d99a00; color: #fff; border-radius: 4px; padding: 1px 6px; font-weight: 600;
                    font-size: 0.75rem; margin-right: 6px; }
.fd-event { font-size: 0.82rem; color: #6b7280; text-align: center; margin: 4px 0; }
.fd-event b { color: #374151; }
.fd-options { font-size: 0.82rem; color: #374151; margin-top: 4px; }
.fd-chip { display: inline-block; border: 1px solid #9ca3af; border-radius: 12px; padding: 0 8px; margin: 2px 4px 0 0; }
.fd-chip-chosen { background: #dcfce7; border-color: #16a34a; }
.fd-rating { border: 1px solid #d9dce1; border-left: 4px solid #2e7d32; border-radius: 8px; padding: 8px 12px;
             margin: 6px 0 10px; max-width: 46rem; }
.fd-rating-low { border-left-color: #c62828; }
.fd-stars { color: #b45309; font-size: 1.1rem; letter-spacing: 1px; }
</style>
"""

_ENDED_BY = {"customer": "the customer", "agent": "the agent", "system": "the system"}
# the order of events at one instant, after the messages: the end, then the rating
_AFTER_MESSAGES = {"ended": 2, "rated": 3}
_RATED_VIA = {"customer": "in the chat", "link": "from a mail's link", "account": "from their account"}


def stars(score: int) -> str:
    return "★" * score + "☆" * (5 - score)


def html_text(value: object) -> str:
    """``value`` as HTML text on one source line: escaped, its line breaks kept as references."""
    return html.escape(str(value)).replace("\r\n", "&#10;").replace("\n", "&#10;").replace("\r", "&#10;")


def event_text(kind: str, who: str | None, detail: str | None) -> str:
    """The line shown for one system event (plain text; HTML-escaped by the caller)."""
    who = who or "?"
    match kind:
        case "queued":
            return f"Chat started in queue {detail}"
        case "offered":
            return f"Offered to {who}"
        case "accepted":
            return f"Accepted by {who}"
        case "rejected":
            return f"Rejected by {who}" + (f" — reason: “{detail}”" if detail else " (no reason given)")
        case "expired":
            return f"Offer to {who} expired (no answer in time)"
        case "revoked":
            return f"Offer to {who} revoked ({(detail or 'withdrawn').replace('_', ' ')})"
        case "void":
            return f"Offer to {who} void (engine restarted)"
        case "invited":
            return f"{who} invited {detail}"
        case "invitation_declined":
            return f"Invitation declined by {who}"
        case "invitation_expired":
            return f"Invitation to {who} expired"
        case "invitation_cancelled":
            return f"Invitation to {who} cancelled"
        case "transfer":
            return f"{who} asked to transfer the chat to {detail}"
        case "transfer_accepted":
            return f"Transfer accepted: {who} owns the chat now"
        case "transfer_declined":
            return f"Transfer declined by {who}"
        case "transfer_expired":
            return f"Transfer to {who} expired (not accepted in time, or cancelled)"
        case "joined":
            return f"{who} joined ({detail})"
        case "left":
            if detail == "transferred":
                return f"{who} left — handed the chat over"
            return f"{who} left" + (" — the chat went back to the queue" if detail == "owner" else "")
        case "offline_request":
            return f"Became offline request {detail}"
        case "supervisor_monitor":
            return f"Supervisor {who} started watching (nobody was told)"
        case "supervisor_unmonitor":
            return f"Supervisor {who} stopped watching"
        case "supervisor_join":
            return f"Supervisor {who} joined the chat"
        case "supervisor_take_over":
            return f"Supervisor {who} took the chat over"
        case "supervisor_reassign":
            return f"Supervisor {who} reassigned the chat to {detail or '?'}"
        case "ended":
            by = _ENDED_BY.get(who, who)
            return f"Ended by {by}" + (f" ({detail.replace('_', ' ')})" if detail else "")
        case "rated":
            return f"Rated {detail} by the customer" + (f" {_RATED_VIA[who]}" if who in _RATED_VIA else "")
    return f"{kind} {who} {detail or ''}".strip()


def timeline(messages: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Messages and events merged by time; at equal times an event comes first (an offer is made
    the moment the first message arrives) except the end, which comes after the last message."""
    items: list[tuple[datetime, int, int, str, dict[str, Any]]] = []
    for m in messages:
        items.append((m["created_at"], 1, int(m["seq"]), "message", m))
    for i, e in enumerate(events):
        items.append((e["at"], _AFTER_MESSAGES.get(e["kind"], 0), i, "event", e))
    items.sort(key=lambda t: (t[0], t[1], t[2]))
    return [(kind, item) for _, _, _, kind, item in items]


def chosen_labels(messages: list[dict[str, Any]]) -> dict[int, str]:
    """Per message that answers a menu (``option_id``), by seq: the label of that option in the
    newest earlier message that offered it (an id means nothing to a reader)."""
    offered: dict[str, str] = {}
    chosen: dict[int, str] = {}
    for m in sorted(messages, key=lambda m: int(m["seq"])):
        if m["option_id"] and str(m["option_id"]) in offered:
            chosen[int(m["seq"])] = offered[str(m["option_id"])]
        for o in m["options"] or ():
            if isinstance(o, dict) and o.get("id") is not None:
                offered[str(o["id"])] = str(o.get("label", ""))
    return chosen


def message_html(m: dict[str, Any], tz: Any, chosen_label: str | None = None) -> str:
    text = html_text(m["text"] or "")
    when = html_text(common.fmt_time(m["created_at"], tz))
    sender = html_text(m["sender_name"] or m["sender_kind"])
    if m["private"]:
        css, badge = "fd-msg fd-private", (f'<span class="fd-private-badge" title="{PRIVATE_HINT}">'
                                           f"{PRIVATE_MARK}</span>")
    elif m["sender_kind"] == "customer":
        css, badge = "fd-msg fd-customer", ""
    elif m["sender_kind"] == "system":
        css, badge = "fd-msg fd-system-msg", "⚙ "
    else:
        css, badge = "fd-msg fd-agent", ""
    role = {"customer": "customer", "agent": "agent", "system": "system"}.get(m["sender_kind"], "")
    extra = ""
    if m["options"]:
        chips = "".join(f'<span class="fd-chip">{html_text(o.get("label", ""))}</span>' for o in m["options"])
        extra = f'<div class="fd-options">Options: {chips}</div>'
    if m["option_id"]:
        chosen = (f"chose “{html_text(chosen_label)}”" if chosen_label is not None
                  else f"chose option {html_text(m['option_id'])}")      # a menu no longer in the transcript
        extra = f'<div class="fd-options"><span class="fd-chip fd-chip-chosen">{chosen}</span></div>'
    private_hint = f" · <i>{PRIVATE_HINT}</i>" if m["private"] else ""
    return (f'<div class="{css}"><div class="fd-meta">{badge}<b>{sender}</b> ({role}) · {when} · '
            f'#{m["seq"]}{private_hint}</div><div class="fd-text">{text}</div>{extra}</div>')


def _file_reader(path: Path) -> Any:
    return lambda: path.read_bytes()


def _attachments(m: dict[str, Any]) -> None:
    if not m["attachments"]:
        return
    if m["sender_kind"] == "customer":
        where = st.container()
    else:  # under the agent's (indented) bubble
        where = st.columns([1, 14])[1]
    with where:
        for a in m["attachments"]:
            _attachment(m, a)


def _attachment(m: dict[str, Any], a: dict[str, Any]) -> None:
    path = common.uploads_dir() / str(a.get("id", ""))
    name = str(a.get("filename") or "attachment")
    prefix = "👁 private attachment · " if m["private"] else ""
    label = f"{prefix}⬇ {common.md(name)} ({_size(int(a.get('size') or 0))})"
    if path.is_file():
        st.download_button(label, data=_file_reader(path), file_name=name,
                           mime=str(a.get("content_type") or "application/octet-stream"),
                           key=f"att-{m['id']}-{a.get('id')}", on_click="ignore")
    else:
        st.caption(f"{label} — the file is missing from {common.md(path.parent)}")


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n / 1024 / 1024:.1f} MiB"


def header(c: dict[str, Any], tz: Any) -> None:
    verified = set(c["customer_verified"] or [])

    def mark(field: str) -> str:
        return " 🔒 *verified*" if field in verified else ""

    md = common.md
    st.subheader(f"{md(c['customer_name'])} · {md(c['queue_title'] or c['queue'])}")
    left, middle, right = st.columns(3)
    with left:
        st.markdown(f"**Customer:** {md(c['customer_name'])}{mark('name')}  \n"
                    f"**E-mail:** {md(c['customer_email'])}{mark('email')}")
        for key, value in (c["fields"] or {}).items():
            st.markdown(f"**{md(key)}:** {md(value)}{mark(key)}")
    with middle:
        status = {"queued": "⏳ queued", "active": "💬 active", "ended": "✔ ended"}.get(c["status"], md(c["status"]))
        st.markdown(f"**Status:** {status}  \n**Queue:** {md(c['queue'])}  \n**Agent:** {md(c['owner_name'] or '—')}")
    with right:
        wait = (c["accepted_at"] - c["created_at"]).total_seconds() if c["accepted_at"] else None
        st.markdown(f"**Started:** {common.fmt_time(c['created_at'], tz)}  \n"
                    f"**Waited:** {common.fmt_duration(wait)}  \n"
                    f"**Ended:** {common.fmt_time(c['ended_at'], tz)}"
                    + (f" by {md(c['ended_by'])}" if c["ended_by"] else ""))
    if verified:
        st.caption("🔒 verified = the customer's identity was confirmed by the website (signed identity)")


def rating_event(rating: dict[str, Any]) -> dict[str, Any]:
    """The rating as an event of the timeline (its comment stands in the header)."""
    return {"at": rating["created_at"], "kind": "rated", "who": rating["via"],
            "detail": f"{stars(rating['score'])} {rating['score']}/5"}


def rating_html(rating: dict[str, Any] | None, status: str, tz: Any) -> str:
    """The customer's rating and comment as a box (the comment as typed); a line saying there is none
    once the conversation could have been rated; nothing before."""
    if rating is None:
        return '<div class="fd-event">Not rated by the customer.</div>' if status in ("ended", "resolved") else ""
    low = " fd-rating-low" if rating["score"] <= 2 else ""
    comment = (f'<div class="fd-text">{html_text(rating["comment"])}</div>' if rating["comment"]
               else '<div class="fd-meta"><i>no comment</i></div>')
    return (f'<div class="fd-rating{low}"><div class="fd-meta"><b>Customer rating</b> · '
            f'{html_text(common.fmt_time(rating["created_at"], tz))}</div>'
            f'<div><span class="fd-stars" aria-hidden="true">{stars(rating["score"])}</span> '
            f'<b>{rating["score"]}/5</b></div>{comment}</div>')


def render(conversation_id: str) -> bool:
    """Show the transcript; False when there is no such conversation."""
    tz = common.local_tz()
    with common.connection() as conn:
        c = db.conversation(conn, conversation_id)
        if c is None:
            return False
        messages = db.transcript(conn, conversation_id)
        events = db.conversation_events(conn, conversation_id)
        rating = db.conversation_rating(conn, conversation_id)
    if rating is not None:
        events = [*events, rating_event(rating)]
    st.markdown(CSS, unsafe_allow_html=True)
    header(c, tz)
    box = rating_html(rating, c["status"], tz)
    if box:
        st.markdown(box, unsafe_allow_html=True)
    private_count = sum(1 for m in messages if m["private"])
    st.caption(f"{len(messages)} messages · {private_count} private notes · times in {common.tz_name(tz)} · "
               f"legend: customer (grey) · agent (blue) · {PRIVATE_MARK} (amber, dashed) · system events (small)")
    labels = chosen_labels(messages)
    for kind, item in timeline(messages, events):
        if kind == "event":
            line = html_text(event_text(item["kind"], item["who"], item["detail"]))
            st.markdown(f'<div class="fd-event">⚙ {html_text(common.fmt_time(item["at"], tz))} · <b>{line}</b>'
                        "</div>", unsafe_allow_html=True)
        else:
            st.markdown(message_html(item, tz, labels.get(int(item["seq"]))), unsafe_allow_html=True)
            _attachments(item)
    return True
