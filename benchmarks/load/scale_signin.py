"""The scale scenario's sign-in phase: a customer signs in by one-time code (PROTOCOL.md §6), where
the engine serves it.

An engine without ``POST /api/customers/code`` answers it 404: the phase reports sign-in as not
served and measures nothing. Where it is served, at ``probe_rate`` per second for ``probe_s``,
a seeded customer asks for a code (``signin_code``: the POST → 202), the generator reads the code
from the mail the engine wrote to its ``outbox`` (the customer's newest mail; the engine stores
only the code's hash), and signs in with it (``signin_login``: the POST → 200 with a token). The
code's wait in the outbox is not measured: it is the mail's, not the customer's request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import trio

from .context import RunContext
from .scale_seed import Seeded, customer_email

CODE = re.compile(r"(?<!\d)\d{6,}(?!\d)")      # a code is at least 6 digits (PROTOCOL.md §14)
Segment = Callable[[str, float, tuple[float, float]], None]


def code_in(text: str) -> str | None:
    found = CODE.search(text)
    return found.group(0) if found else None


class Mails:
    """The newest mail in the outbox to an address, read over ONE connection in worker threads
    (one at a time): a connection per read would make PostgreSQL start a backend per sign-in, on
    the cores the engine is measured on."""

    def __init__(self, database_url: str):
        self._url = database_url
        self._conn: Any = None
        self.one_at_a_time = trio.CapacityLimiter(1)

    def newest_to(self, email: str) -> str:
        import psycopg

        if self._conn is None:
            self._conn = psycopg.connect(self._url, autocommit=True)
        row = self._conn.execute("SELECT subject || E'\\n' || body_text FROM outbox WHERE lower(recipient) = "
                                 "lower(%s) ORDER BY created_at DESC LIMIT 1", (email,)).fetchone()
        return str(row[0]) if row else ""

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


async def sign_in_phase(ctx: RunContext, http: httpx.AsyncClient, seeded: Seeded, segment: Segment,
                        probe_s: float) -> None:
    rec = ctx.recorder("engine")
    extra = ctx.extra.setdefault("engine", {})
    customers = list(seeded.picks.accounts)
    if not customers:
        return
    probe = await http.post("/api/customers/code", content=orjson.dumps({"email": customer_email(customers[0])}),
                            headers={"Content-Type": "application/json"})
    if probe.status_code == 404:
        extra["sign_in"] = "not served by this engine (no POST /api/customers/code)"
        return
    extra["sign_in"] = "served"
    rate = ctx.cfg.probe_rate
    ctx.phase.label = f"engine: sign-in by code ({rate:g}/s)"
    start = trio.current_time() + 0.2
    window = (start, start + probe_s)
    rec.open_window(*window)

    async def one(i: int) -> None:
        email = customer_email(i)
        t0 = trio.current_time()
        r = await http.post("/api/customers/code", content=orjson.dumps({"email": email}),
                            headers={"Content-Type": "application/json"})
        rec.setup("signin_code", t0, trio.current_time())
        if r.status_code != 202:
            rec.error(f"sign-in code: {r.status_code}")
            return
        code = code_in(await trio.to_thread.run_sync(mails.newest_to, email, limiter=mails.one_at_a_time))
        if code is None:
            rec.error("sign-in: no code in the customer's mail")
            return
        t1 = trio.current_time()
        r = await http.post("/api/customers/login", content=orjson.dumps({"email": email, "code": code}),
                            headers={"Content-Type": "application/json"})
        rec.setup("signin_login", t1, trio.current_time())
        if r.status_code != 200 or not r.json().get("token"):
            rec.error(f"sign-in login: {r.status_code}")

    async def guarded(i: int) -> None:
        try:
            with trio.fail_after(ctx.cfg.timeout_s * 3):
                await one(i)
        except (httpx.HTTPError, trio.TooSlowError, ValueError, OSError) as exc:
            rec.error(f"sign-in: {type(exc).__name__}")

    mails = Mails(seeded.database_url)
    try:
        async with trio.open_nursery() as nursery:
            t = start
            for i in customers[1:]:
                t += 1.0 / rate
                if t >= window[1]:
                    break
                await trio.sleep_until(t)
                nursery.start_soon(guarded, i)
    finally:
        await trio.to_thread.run_sync(mails.close, limiter=mails.one_at_a_time)
    segment("signin", start - 0.2, window)

