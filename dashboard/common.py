"""What every dashboard page shares: the database pool, the signed-in supervisor, formatting.

The database is ``FRONTDESK_DATABASE_URL`` or, when unset, the embedded PostgreSQL (pgserver) in
``$FRONTDESK_DATA_DIR/pgdata`` — the one ``frontdesk serve`` uses — joined without taking
ownership (``cleanup_mode=None``: the dashboard never stops a server it shares with the engine).

Resource handling: one small psycopg pool per database URL lives in Streamlit's resource cache
for the life of the server process and is closed when that cache is cleared. Pages borrow a
connection for one script run with ``connection()``; it goes back to the pool when the ``with``
block ends, also when the run is stopped by a rerun.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
import streamlit as st
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from frontdesk.dashboard import db
from frontdesk.dashboard.forms import FormError

POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 4
# A page that waits this long for a connection shows an error instead of hanging.
POOL_TIMEOUT_S = 10.0
SESSION_KEY = "supervisor"
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# where GitHub's autolinks begin (www., scheme://, user@host): Streamlit finds them in the text after
# the escapes are undone, so only a character in between stops them
_AUTOLINK_STARTS = re.compile(r"(?i)(?<=www)(?=\.)|(?<=:)(?=//)|(?=@)")
WORD_JOINER = "\u2060"      # invisible, and no line break at it
_BACKTICK_RUNS = re.compile(r"`+")


def data_dir() -> Path:
    return Path(os.environ.get("FRONTDESK_DATA_DIR") or ".frontdesk")


def uploads_dir() -> Path:
    return data_dir() / "uploads"


def database_url() -> str:
    url = os.environ.get("FRONTDESK_DATABASE_URL")
    if url:
        return url
    return _embedded_url(str(data_dir().resolve() / "pgdata"))


@st.cache_resource(show_spinner="Starting the embedded PostgreSQL…")
def _embedded_url(pgdata: str) -> str:
    import pgserver

    Path(pgdata).parent.mkdir(parents=True, exist_ok=True)
    return str(pgserver.get_server(pgdata, cleanup_mode=None).get_uri())


def _close_pool(pool: ConnectionPool[Any]) -> None:
    pool.close()


@st.cache_resource(show_spinner=False, on_release=_close_pool)
def _pool(url: str) -> ConnectionPool[Any]:
    return ConnectionPool(
        url, min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE, timeout=POOL_TIMEOUT_S, open=True,
        kwargs={"autocommit": True, "row_factory": dict_row,
                "options": db.session_options(),
                "application_name": "frontdesk-dashboard"},
        name="frontdesk-dashboard")


@contextmanager
def connection() -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A pooled connection (autocommit, rows as dicts) for the current script run."""
    with _pool(database_url()).connection() as conn:
        yield conn


def database_problem() -> str | None:
    """Why the dashboard cannot work on its database right now, or None."""
    try:
        with connection() as conn:
            missing = db.missing_tables(conn)
    except (psycopg.Error, PoolTimeout) as exc:
        return f"Cannot reach the database: {exc}"
    if missing:
        return ("The database has no Frontdesk schema yet (missing: " + ", ".join(missing) + "). Start the engine "
                "once (`frontdesk serve`) or load the demo data (`frontdesk demo`) on this database.")
    return None


# --------------------------------------------------------------------------- the supervisor


def supervisor() -> dict[str, str] | None:
    value = st.session_state.get(SESSION_KEY)
    return value if isinstance(value, dict) else None


def require_supervisor() -> dict[str, str]:
    """The signed-in supervisor; stops the page (showing nothing) for anyone else."""
    who = supervisor()
    if who is None:
        st.warning("Please sign in.")
        st.stop()
    with connection() as conn:
        enabled = db.supervisor_enabled(conn, who["id"])
    if not enabled:     # disabled by another supervisor: this session ends now
        st.session_state.pop(SESSION_KEY, None)
        st.warning("Your account was disabled. Please sign in again.")
        st.stop()
    return who


def flash(message: str) -> None:
    """A success message in plain text for the next run (shown by ``show_flash`` after ``st.rerun()``)."""
    st.session_state["_flash"] = message


def show_form_error(exc: FormError) -> None:
    """A refused edit: the field it concerns, then why (which may quote what was typed)."""
    st.error(f"**{exc.field.capitalize()}**: {md(exc.message)}")


def show_flash() -> None:
    message = st.session_state.pop("_flash", None)
    if message:
        st.success(md(message))


# --------------------------------------------------------------------------- text in Markdown


def md(text: object) -> str:
    """``text`` as Markdown that shows exactly its characters, for every Streamlit element and label
    that reads Markdown (``st.markdown``, captions, alerts, headers, widget labels).

    Every ASCII punctuation character is backslash-escaped (CommonMark allows it for each), so no
    part of a name, e-mail address or title becomes an image (which the browser would fetch), a
    link, emphasis, HTML, a heading or list, a Streamlit directive (``:red[…]``), an emoji or
    LaTeX; and a word joiner goes where an address would otherwise turn into a link by itself
    (``www``, ``://``, ``@``: a copied address carries it). Line breaks become spaces: the places
    it goes hold one line.
    """
    text = _AUTOLINK_STARTS.sub(WORD_JOINER, " ".join(str(text).splitlines()))
    return _ASCII_PUNCTUATION.sub(r"\\\1", text)


def md_code(text: object) -> str:
    """``text`` as a Markdown code span: monospace, and shown as typed whatever it holds (backslash
    escapes do not work inside code spans; a fence longer than any run of backticks in it does)."""
    value = " ".join(str(text).splitlines())
    fence = "`" * (max((len(run) for run in _BACKTICK_RUNS.findall(value)), default=0) + 1)
    if value.startswith("`") or value.endswith("`") or (value.startswith(" ") and value.endswith(" ")):
        value = f" {value} "    # CommonMark strips one space from each end of such a span
    return f"{fence}{value}{fence}"


def reset_widgets(prefix: str) -> None:
    """Forget the values of the widgets whose key starts with ``prefix`` (before they are drawn)."""
    for key in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[key]


# --------------------------------------------------------------------------- formatting


def local_tz() -> tzinfo:
    """The browser's time zone when Streamlit knows it, else UTC."""
    name = getattr(st.context, "timezone", None)
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def tz_name(tz: tzinfo) -> str:
    return getattr(tz, "key", None) or "UTC"


def fmt_time(at: datetime | None, tz: tzinfo | None = None, *, seconds: bool = True) -> str:
    if at is None:
        return "—"
    local = at.astimezone(tz or local_tz())
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def fmt_duration(seconds: float | None) -> str:
    """``42s``, ``3m 05s``, ``2h 07m``, ``3d 4h``; ``—`` for None."""
    if seconds is None:
        return "—"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def now_utc() -> datetime:
    return datetime.now(UTC)
