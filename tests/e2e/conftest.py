"""Fixtures of the end-to-end tests (tests/e2e/): a real PostgreSQL (the embedded pgserver), a
fresh database per test cloned from a template that holds the schema and the demo data, a real
engine on an ephemeral port (in-process, or as a ``frontdesk serve`` subprocess for crash tests),
and protocol clients. Test modules import its helpers with ``from conftest import ...``.

The unit tests (tests/unit/) are outside this folder: they never see these fixtures, so they never
start PostgreSQL (the ``postgres`` session fixture is not autouse either: it starts only for a test
that asks for it, through ``database_url``, ``engine`` or itself).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from frontdesk.engine.runtime.config import Config
from frontdesk.engine.supervisor.run import run_engine

PASSWORD = "demo-password"
TEMPLATE = "fd_template"


class Postgres:
    """One embedded PostgreSQL for the whole test session."""

    def __init__(self) -> None:
        import pgserver

        self.dir = tempfile.mkdtemp(prefix="fdtest-pg-")
        self.server = pgserver.get_server(self.dir, cleanup_mode="delete")
        self.base_uri = self.server.get_uri()

    def url(self, name: str) -> str:
        return self.base_uri.replace("@/postgres?", f"@/{name}?")

    def psql(self, sql: str) -> str:
        return str(self.server.psql(sql))

    def fresh(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self.psql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE};")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    pg = Postgres()
    pg.psql(f"CREATE DATABASE {TEMPLATE};")
    subprocess.run([sys.executable, "-m", "frontdesk.engine", "demo", "--database-url", pg.url(TEMPLATE)],
                   check=True, capture_output=True)
    yield pg
    pg.server.cleanup()


@pytest.fixture
def database_url(postgres: Postgres) -> str:
    return postgres.fresh()


def make_config(database_url: str, data_dir: Path, **overrides: Any) -> Config:
    base = Config(database_url=database_url, data_dir=data_dir, host="127.0.0.1", port=0,
                  offer_timeout_ms=2000, reconnect_grace_ms=1500, customer_grace_ms=60_000,
                  missed_offers_away=2, max_wait_s=600, rate_limit_per_s=0, rate_limit_burst=0)
    return base.with_overrides(**overrides)


class Engine:
    """A running engine and the clients that talk to it."""

    def __init__(self, base: str, config: Config, cancel: trio.CancelScope):
        self.base = base
        self.ws_url = base.replace("http", "ws", 1) + "/ws"
        self.config = config
        self.cancel = cancel

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, timeout=10)

    async def login(self, email: str, kind: str = "agents") -> dict[str, Any]:
        async with self.http() as c:
            r = await c.post(f"/api/{kind}/login", json={"email": email, "password": PASSWORD})
            assert r.status_code == 200, r.text
            return dict(r.json())

    async def start_chat(self, queue: str = "support", name: str = "Cora Customer",
                         email: str = "cora@example.com", question: str = "Where is my order?",
                         **extra: Any) -> dict[str, Any]:
        if queue == "messages":     # the demo's messaging queue asks for the privacy consent
            extra.setdefault("consent", True)
        async with self.http() as c:
            r = await c.post("/api/chats", json={"queue": queue, "name": name, "email": email,
                                                 "question": question, **extra})
            assert r.status_code == 201, r.text
            return dict(r.json())


@asynccontextmanager
async def running_engine(config: Config) -> AsyncIterator[Engine]:
    async with trio.open_nursery() as nursery:
        base = await nursery.start(run_engine, config)
        yield Engine(base, config, nursery.cancel_scope)
        nursery.cancel_scope.cancel()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def engine(database_url: str, data_dir: Path) -> AsyncIterator[Engine]:
    async with running_engine(make_config(database_url, data_dir)) as e:
        yield e


class Client:
    """One websocket; keeps every frame it received, so a test can also check what never came."""

    def __init__(self, ws: WebSocketConnection, name: str):
        self.ws = ws
        self.name = name
        self.seen: list[dict[str, Any]] = []
        self._pending: list[dict[str, Any]] = []
        self.info: dict[str, Any] = {}
        self.token = ""

    async def send(self, obj: dict[str, Any] | str) -> None:
        await self.ws.send_message(obj if isinstance(obj, str) else orjson.dumps(obj).decode())

    async def _recv(self) -> dict[str, Any]:
        frame = orjson.loads(await self.ws.get_message())
        self.seen.append(frame)
        return dict(frame)

    async def expect(self, type_: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        def ok(f: dict[str, Any]) -> bool:
            return f.get("type") == type_ and all(f.get(k) == v for k, v in match.items())

        for i, f in enumerate(self._pending):
            if ok(f):
                return self._pending.pop(i)
        with trio.move_on_after(timeout):
            while True:
                f = await self._recv()
                if ok(f):
                    return f
                self._pending.append(f)
        raise AssertionError(f"{self.name}: no {type_} {match} within {timeout}s; "
                             f"got {[p.get('type') for p in self._pending][-20:]}")

    async def expect_one_of(self, types: set[str], timeout: float = 5.0) -> dict[str, Any]:
        """The next frame (pending first) whose type is one of ``types``."""
        for i, f in enumerate(self._pending):
            if f.get("type") in types:
                return self._pending.pop(i)
        with trio.move_on_after(timeout):
            while True:
                f = await self._recv()
                if f.get("type") in types:
                    return f
                self._pending.append(f)
        raise AssertionError(f"{self.name}: none of {sorted(types)} within {timeout}s")

    async def drain(self, seconds: float) -> list[dict[str, Any]]:
        """Everything that arrives within ``seconds`` (plus what was pending)."""
        out = list(self._pending)
        self._pending.clear()
        with trio.move_on_after(seconds):
            while True:
                out.append(await self._recv())
        return out

    async def closed_code(self, timeout: float = 5.0) -> int | None:
        with trio.move_on_after(timeout):
            try:
                while True:
                    await self._recv()
            except ConnectionClosed as exc:
                return int(exc.reason.code)
        return None

    async def send_text(self, conversation_id: str | None, text: str, **extra: Any) -> dict[str, Any]:
        """Send a message and wait for its ack."""
        client_id = uuid.uuid4().hex
        frame = {"type": "send", "client_id": client_id, "text": text, **extra}
        if conversation_id is not None:
            frame["conversation_id"] = conversation_id
        await self.send(frame)
        return await self.expect("ack", client_id=client_id)


@asynccontextmanager
async def connect(engine: Engine, token: str | None, name: str = "client", resume: dict[str, int] | None = None,
                  hello: bool = True) -> AsyncIterator[Client]:
    async with open_websocket_url(engine.ws_url, message_queue_size=10_000) as ws:
        c = Client(ws, name)
        c.token = token or ""
        if hello:
            msg: dict[str, Any] = {"type": "hello", "token": token}
            if resume is not None:
                msg["resume"] = resume
            await c.send(msg)
            c.info = await c.expect("welcome", timeout=10)
        yield c


@asynccontextmanager
async def agent(engine: Engine, n: int, presence: str | None = None) -> AsyncIterator[Client]:
    info = await engine.login(f"agent{n}@demo.test")
    async with connect(engine, info["token"], name=f"agent{n}") as c:
        c.token = info["token"]
        c.info = {**c.info, **info["agent"]}
        if presence:
            await c.send({"type": "presence", "state": presence})
            await c.expect("presence", state=presence)
        yield c


async def metric(engine: Engine, sample: str) -> float:
    """The value of one sample of ``/metrics`` (``name`` or ``name{label="value"}``); 0 before the first."""
    async with engine.http() as http:
        text = (await http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[1])
    return 0.0


async def settings_reloads(engine: Engine) -> float:
    """How often the engine has loaded the queues' settings."""
    return await metric(engine, "frontdesk_queue_settings_reloads_total")


@asynccontextmanager
async def queue_settings_change(engine: Engine) -> AsyncIterator[None]:
    """Wrap a change of the ``queues`` table made while the engine runs: on exit, wait until
    the engine has reloaded the settings (it is told by NOTIFY)."""
    before = await settings_reloads(engine)
    yield
    with trio.fail_after(10):
        # the reload happens in the engine; its counter in /metrics is the only signal we can see
        while await settings_reloads(engine) <= before:  # noqa: ASYNC110
            await trio.sleep(0.02)


async def accept_next(a: Client, conversation_id: str) -> dict[str, Any]:
    """The agent accepts the offer of ``conversation_id``; returns the ``conversation`` event."""
    offer = await a.expect("offer", conversation_id=conversation_id)
    await a.send({"type": "accept", "offer_id": offer["offer_id"]})
    return await a.expect("conversation", conversation_id=conversation_id)

