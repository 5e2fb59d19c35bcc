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

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
import streamlit as st
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from frontdesk.core import auth
from frontdesk.dashboard import db
from frontdesk.dashboard.forms import FormError

POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 4
# A page that waits this long for a connection shows an error instead of hanging.
POOL_TIMEOUT_S = 10.0
SESSION_KEY = "supervisor"
TOKEN_KEY = "session_token"
COOKIE_KEY = "_session_cookie"         # what the next run tells the browser: ("set", token) or ("clear", "")
COOKIE_NAME = "frontdesk_dashboard"
SESSION_TTL = timedelta(hours=12)      # one long shift; signing in again after it is expected
SESSION_PATH = "/_frontdesk/session"   # served by server.py's middleware
SESSION_HEADER = "X-Frontdesk-Session"  # a header another site's page cannot send without CORS
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


def start_session(who: dict[str, str]) -> bool:
    """Sign ``who`` in: a supervisor token (random, stored hashed with its expiry in ``tokens``, as
    the engine's sign-in stores one) kept in this session and, from the next run, in the browser's
    cookie. False when the account may not sign in (disabled meanwhile)."""
    token, token_hash = auth.new_token()
    with connection() as conn:
        if not db.create_session(conn, token_hash, who["id"], now_utc() + SESSION_TTL):
            return False
    st.session_state[SESSION_KEY] = who
    st.session_state[TOKEN_KEY] = token
    st.session_state[COOKIE_KEY] = ("set", token)
    return True


def resume_session() -> dict[str, str] | None:
    """The supervisor of this run, checked in the database every run: the token of this session, or
    else the browser's cookie (a reload, a new tab). An expired or revoked token signs out."""
    token = st.session_state.get(TOKEN_KEY) or _cookie_token()
    if not isinstance(token, str) or not token:
        _forget_session()
        return None
    with connection() as conn:
        row = db.session_supervisor(conn, auth.token_hash(token))
    if row is None:
        _forget_session()
        return None
    who = {"id": str(row["id"]), "name": str(row["name"]), "email": str(row["email"])}
    st.session_state[SESSION_KEY] = who
    st.session_state[TOKEN_KEY] = token
    return who


def end_session() -> None:
    """Sign out: the token is revoked (deleted), so its cookie opens nothing any more, and the
    browser is told to drop the cookie."""
    token = st.session_state.get(TOKEN_KEY) or _cookie_token()
    if isinstance(token, str) and token:
        with connection() as conn:
            db.revoke_session(conn, auth.token_hash(token))
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[COOKIE_KEY] = ("clear", "")


def _forget_session() -> None:
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(TOKEN_KEY, None)


def _cookie_token() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except (AttributeError, RuntimeError):     # no browser request behind this run (AppTest)
        return None
    return value if isinstance(value, str) else None


def session_cookie_script() -> str | None:
    """JavaScript that asks the dashboard's server (``server.py``) to set or clear the HttpOnly
    session cookie, once, after a sign-in or sign-out; None when there is nothing to tell."""
    pending = st.session_state.pop(COOKIE_KEY, None)
    if not isinstance(pending, tuple):
        return None
    action, token = pending
    method = "POST" if action == "set" else "DELETE"
    return (f"<script>fetch({json.dumps(SESSION_PATH)}, {{method: {json.dumps(method)}, credentials: 'same-origin', "
            f"headers: {{'Content-Type': 'text/plain', {json.dumps(SESSION_HEADER)}: '1'}}, "
            f"body: {json.dumps(token) if action == 'set' else 'null'}}});</script>")


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
