"""Fixtures and helpers of the dashboard tests. Test modules import the fixtures they use
(``seed_fixture`` registers ``seed``, ``dashboard_env_fixture`` registers ``dashboard_env``): this
folder has no conftest.py, whose module name would shadow tests/e2e/conftest.py for the engine
tests' ``from conftest import ...``. What the fixtures give:
a fresh database with the demo data (``database_url`` from tests/e2e/conftest.py) plus known
conversations, offers, notes and requests, and AppTest helpers.

Every page is driven through the real entry point (``app.py``) with Streamlit's AppTest, signed in
as the demo supervisor, against that real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import streamlit as st
from markdown_it import MarkdownIt
from psycopg.types.json import Jsonb
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[3] / "dashboard" / "app.py"
AT_TIMEOUT_S = 60


@dataclass
class Seed:
    url: str
    data_dir: Path
    staff: dict[str, str]          # e-mail -> id
    c_ended: str                   # support, ended, owner agent1, verified, private note, attachment
    c_active: str                  # sales, active, owner agent3
    c_queued: str                  # support, queued, offered to agent1
    r_open: str                    # support, open
    r_handled: str                 # sales, handled by agent3
    attachment: str
    private_text: str = "PRIVATE-NOTE customer is a VIP, be generous"
    public_text: str = "Sorry to hear that, I will check the parcel status."

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(query, params)  # type: ignore[call-overload]
            return list(cur.fetchall()) if cur.description else []


def _message(conn: psycopg.Connection[Any], cid: uuid.UUID, seq: int, at: datetime, kind: str, sender: str | None,
             name: str, text: str, private: bool = False, attachments: list[dict[str, Any]] | None = None) -> None:
    conn.execute(
        "INSERT INTO messages (id, conversation_id, seq, sender_kind, sender_id, sender_name, sender_key, text, "
        "private, attachments, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (uuid.uuid4(), cid, seq, kind, sender, name, sender or "customer", text, private, Jsonb(attachments or []),
         at))


@pytest.fixture(name="seed")
def seed_fixture(database_url: str, tmp_path: Path) -> Seed:
    now = datetime.now(UTC)
    data_dir = tmp_path / "data"
    (data_dir / "uploads").mkdir(parents=True)
    with psycopg.connect(database_url, autocommit=True) as conn:
        staff = {r[0]: str(r[1]) for r in conn.execute("SELECT email, id FROM staff").fetchall()}
        a1, a2, a3 = staff["agent1@demo.test"], staff["agent2@demo.test"], staff["agent3@demo.test"]
        c_ended, c_active, c_queued = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        t0 = now - timedelta(days=2)
        conn.execute(
            "INSERT INTO conversations (id, queue, status, customer_name, customer_email, customer_verified, "
            "queue_key, owner_id, created_at, accepted_at, ended_at, ended_by, end_reason) VALUES "
            "(%s, 'support', 'ended', 'Vera Verified', 'vera@example.com', '{name,email}', 1, %s, %s, %s, %s, "
            "'agent', 'ended')", (c_ended, a1, t0, t0 + timedelta(seconds=40), t0 + timedelta(minutes=10)))
        attachment = uuid.uuid4()
        (data_dir / "uploads" / str(attachment)).write_bytes(b"label for parcel 4711\n")
        conn.execute("INSERT INTO attachments (id, uploader_kind, uploader_id, filename, content_type, size, sha256, "
                     "conversation_id) VALUES (%s, 'customer', %s, 'receipt.txt', 'text/plain', 22, 'x', %s)",
                     (attachment, c_ended, c_ended))
        _message(conn, c_ended, 1, t0, "customer", None, "Vera Verified", "My parcel never arrived.")
        _message(conn, c_ended, 2, t0 + timedelta(seconds=50), "agent", a1, "Agent One",
                 "Sorry to hear that, I will check the parcel status.")
        _message(conn, c_ended, 3, t0 + timedelta(seconds=60), "agent", a1, "Agent One",
                 "PRIVATE-NOTE customer is a VIP, be generous", private=True)
        _message(conn, c_ended, 4, t0 + timedelta(seconds=70), "customer", None, "Vera Verified",
                 "Here is my receipt <b>not bold</b>.",
                 attachments=[{"id": str(attachment), "filename": "receipt.txt", "content_type": "text/plain",
                               "size": 22}])
        conn.execute("INSERT INTO offers (id, conversation_id, agent_id, created_at, expires_at, outcome, reason, "
                     "decided_at) VALUES (%s, %s, %s, %s, %s, 'rejected', 'busy', %s), "
                     "(%s, %s, %s, %s, %s, 'accepted', NULL, %s)",
                     (uuid.uuid4(), c_ended, a2, t0 + timedelta(seconds=1), t0 + timedelta(seconds=31),
                      t0 + timedelta(seconds=5), uuid.uuid4(), c_ended, a1, t0 + timedelta(seconds=6),
                      t0 + timedelta(seconds=36), t0 + timedelta(seconds=40)))
        conn.execute("INSERT INTO participants (conversation_id, agent_id, role, joined_at, left_at) "
                     "VALUES (%s, %s, 'owner', %s, %s)", (c_ended, a1, t0 + timedelta(seconds=40),
                                                          t0 + timedelta(minutes=10)))
        t1 = now - timedelta(hours=1)
        conn.execute(
            "INSERT INTO conversations (id, queue, status, customer_name, customer_email, queue_key, owner_id, "
            "created_at, accepted_at) VALUES (%s, 'sales', 'active', 'Sam Shopper', 'sam@example.com', 2, %s, %s, %s)",
            (c_active, a3, t1, t1 + timedelta(seconds=20)))
        _message(conn, c_active, 1, t1, "customer", None, "Sam Shopper", "Do you sell gift cards?")
        _message(conn, c_active, 2, t1 + timedelta(seconds=30), "agent", a3, "Agent Three", "Yes, we do.")
        conn.execute("INSERT INTO participants (conversation_id, agent_id, role, joined_at) "
                     "VALUES (%s, %s, 'owner', %s)", (c_active, a3, t1 + timedelta(seconds=20)))
        t2 = now - timedelta(minutes=5)
        conn.execute(
            "INSERT INTO conversations (id, queue, status, customer_name, customer_email, queue_key, created_at) "
            "VALUES (%s, 'support', 'queued', 'Quentin Queue', 'quentin@example.com', 3, %s)", (c_queued, t2))
        _message(conn, c_queued, 1, t2, "customer", None, "Quentin Queue", "I need a refund for invoice 99.")
        conn.execute("INSERT INTO offers (id, conversation_id, agent_id, created_at, expires_at) "
                     "VALUES (%s, %s, %s, %s, %s)", (uuid.uuid4(), c_queued, a1, now, now + timedelta(seconds=30)))
        for agent, presence, open_n, offers in ((a1, "available", 0, 1), (a2, "away", 0, 0), (a3, "available", 1, 0)):
            conn.execute("INSERT INTO agent_status (agent_id, presence, open_conversations, pending_offers, capacity) "
                         "VALUES (%s, %s, %s, %s, 3)", (agent, presence, open_n, offers))
        r_open, r_handled = uuid.uuid4(), uuid.uuid4()
        conn.execute("INSERT INTO offline_requests (id, queue, name, email, question, created_at) "
                     "VALUES (%s, 'support', 'Olga Open', 'olga@example.com', 'Please call me back about my refund.', "
                     "%s)", (r_open, now - timedelta(hours=3)))
        conn.execute("INSERT INTO offline_requests (id, queue, name, email, question, status, handled_by, handled_at, "
                     "created_at) VALUES (%s, 'sales', 'Hugo Handled', 'hugo@example.com', 'Price list please.', "
                     "'handled', %s, %s, %s)", (r_handled, a3, now - timedelta(hours=1), now - timedelta(hours=2)))
    return Seed(database_url, data_dir, staff, str(c_ended), str(c_active), str(c_queued), str(r_open),
                str(r_handled), str(attachment))


# what people may type where the dashboard shows it: an image the browser would fetch, HTML, emphasis
IMAGE_URL = "http://127.0.0.1:1/p.png"
IMAGE = f"![x]({IMAGE_URL})"
MARKUP = f"{IMAGE} <img src=x onerror=alert(1)> **bold**"


@dataclass
class Hostile:
    conversation: str          # support, ended; every string in it is MARKUP-like, owner agent2
    request: str               # support, handled by agent2
    customer: str = MARKUP
    email: str = "**bold**_x_@example.com"
    agent: str = f"Agent {MARKUP}"
    field: str = "**order**"
    text: str = f"hello\n\n{IMAGE}\n\n<img src=x onerror=alert(1)> **bold**"
    reason: str = f"busy\n\n{IMAGE}"
    filename: str = f"{IMAGE}.txt"


def add_hostile(seed: Seed) -> Hostile:
    """A conversation and an offline request whose customer, agent (agent2, renamed), field, message,
    option, rejection reason and file name are all markup."""
    h = Hostile(str(uuid.uuid4()), str(uuid.uuid4()))
    cid, a2 = uuid.UUID(h.conversation), seed.staff["agent2@demo.test"]
    t0 = datetime.now(UTC) - timedelta(hours=5)
    attachment = uuid.uuid4()
    (seed.data_dir / "uploads" / str(attachment)).write_bytes(b"markup\n")
    with psycopg.connect(seed.url, autocommit=True) as conn:
        conn.execute("UPDATE staff SET name = %s WHERE id = %s", (h.agent, a2))
        conn.execute(
            "INSERT INTO conversations (id, queue, status, customer_name, customer_email, fields, queue_key, owner_id, "
            "created_at, accepted_at, ended_at, ended_by, end_reason) VALUES (%s, 'support', 'ended', %s, %s, %s, 9, "
            "%s, %s, %s, %s, 'agent', 'ended')",
            (cid, h.customer, h.email, Jsonb({h.field: IMAGE}), a2, t0, t0 + timedelta(seconds=30),
             t0 + timedelta(minutes=5)))
        _message(conn, cid, 1, t0, "customer", None, h.customer, h.text,
                 attachments=[{"id": str(attachment), "filename": h.filename, "content_type": "text/plain",
                               "size": 7}])
        conn.execute(
            "INSERT INTO messages (id, conversation_id, seq, sender_kind, sender_id, sender_name, sender_key, text, "
            "options, created_at) VALUES (%s, %s, 2, 'agent', %s, %s, %s, 'Pick one', %s, %s)",
            (uuid.uuid4(), cid, a2, h.agent, a2, Jsonb([{"id": "a", "label": IMAGE}]), t0 + timedelta(seconds=40)))
        conn.execute("INSERT INTO offers (id, conversation_id, agent_id, created_at, expires_at, outcome, reason, "
                     "decided_at) VALUES (%s, %s, %s, %s, %s, 'rejected', %s, %s)",
                     (uuid.uuid4(), cid, seed.staff["agent1@demo.test"], t0, t0 + timedelta(seconds=30), h.reason,
                      t0 + timedelta(seconds=5)))
        conn.execute("INSERT INTO offline_requests (id, queue, name, email, question, status, handled_by, handled_at, "
                     "created_at) VALUES (%s, 'support', %s, %s, %s, 'handled', %s, %s, %s)",
                     (uuid.UUID(h.request), h.customer, h.email, IMAGE, a2, t0 + timedelta(hours=1), t0))
    return h


@contextmanager
def plain_asyncio() -> Iterator[None]:
    """The engine's modules install trio_asyncio's event-loop policy, whose loops cannot be used or
    closed from other threads (AppTest's script thread, Playwright's driver); the dashboard and
    its tests are plain synchronous code and need the standard policy."""
    policy = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    try:
        yield
    finally:
        asyncio.set_event_loop_policy(policy)


@pytest.fixture(name="dashboard_env")
def dashboard_env_fixture(seed: Seed, monkeypatch: pytest.MonkeyPatch) -> Iterator[Seed]:
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", seed.url)
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(seed.data_dir))
    with plain_asyncio():
        try:
            yield seed
        finally:
            st.cache_resource.clear()  # closes this test's connection pool


@pytest.fixture(name="engine_for_dashboard")
def engine_for_dashboard_fixture(dashboard_env: Seed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real ``frontdesk serve`` on the dashboard's database, where the dashboard finds it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    with (tmp_path / "engine.log").open("ab") as log:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("frontdesk")), "serve", "--host", "127.0.0.1",
                                 "--port", str(port), "--database-url", dashboard_env.url, "--data-dir",
                                 str(dashboard_env.data_dir)], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "engine.log").read_text()
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the engine did not start"
            time.sleep(0.1)
        monkeypatch.setenv("FRONTDESK_ENGINE_URL", base)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


def app_test() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=AT_TIMEOUT_S)


def session_token(seed: Seed, email: str = "supervisor@demo.test") -> str:
    """A live supervisor token for ``email``, stored as the dashboard's sign-in stores one."""
    token = secrets.token_urlsafe(32)
    seed.sql("INSERT INTO tokens (token_hash, kind, subject_id, expires_at) "
             "VALUES (%s, 'supervisor', %s, now() + interval '1 hour')",
             hashlib.sha256(token.encode()).digest(), seed.staff[email])
    return token


def signed_in(seed: Seed, page: str | None = None, **query: str) -> AppTest:
    """An AppTest of the dashboard, signed in as the demo supervisor, showing ``page``."""
    at = app_test()
    at.session_state["session_token"] = session_token(seed)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


# CommonMark with raw HTML, as the transcript's st.markdown(unsafe_allow_html=True) reads it
MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


class Rendered(HTMLParser):
    """What a Markdown source looks like in the browser: its text and the elements it makes."""

    def __init__(self, markdown: str):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.in_style = False
        self.feed(MARKDOWN.render(markdown))
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self.in_style = self.in_style or tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self.in_style = self.in_style and tag != "style"

    def handle_data(self, data: str) -> None:
        if not self.in_style:           # a stylesheet is not text on the page
            self.parts.append(data)

    @property
    def text(self) -> str:
        """What it shows: the word joiners that keep addresses from becoming links are invisible."""
        return "".join(self.parts).replace("\u2060", "").strip()


def shown(markdown: str) -> str:
    """The text a Markdown source shows (its markup gone, its escapes and references resolved)."""
    return Rendered(markdown).text


def texts(at: AppTest) -> str:
    """Everything the page shows as markdown, captions, titles, alerts (one string, for searching)."""
    parts: list[str] = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "error", "warning", "success", "info"):
        parts += [shown(str(e.value)) for e in getattr(at, kind)]
    return "\n".join(parts)


def widget(elements: Any, key: str) -> Any:
    found = [e for e in elements if e.key == key]
    assert found, f"no widget with key {key!r}; keys: {[e.key for e in elements]}"
    return found[0]
