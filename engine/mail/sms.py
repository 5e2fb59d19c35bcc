"""SmsSender: the SMS outbox actor. Rows of ``sms_outbox`` go to an HTTP gateway.

Writers put an SMS into ``sms_outbox`` (in their own transaction) and ``nudge`` the sender. It
claims one due row at a time with a lease (``sms_outbox.claim_due``: its ``next_try_at`` moves
past the longest an attempt can take, so neither this loop nor another engine on the database
takes it while the attempt may still succeed), POSTs ``{"to", "text"}`` as JSON to
``FRONTDESK_SMS_URL``, and marks the row ``sent`` on a 2xx answer. Anything the gateway may get
over (a connection that fails, a timeout, 408, 429, 5xx) is retried with exponential backoff
(``RETRY_BASE_S`` doubling up to ``RETRY_MAX_S``); a refusal for good (any other status) or
``MAX_ATTEMPTS`` failures mark it ``failed`` with the error. Without ``FRONTDESK_SMS_URL`` the
rows stay queued and each is logged once (its id and recipient, not its text: it holds a code).

Each request carries ``Idempotency-Key: <row id>``: a gateway that got a request whose answer
never came back (a timeout after the body went out) sees the retry as the same SMS. No row is
sent twice by the engine: a row is sent by one attempt at a time, under its lease, and never
again once a 2xx answer marked it sent.

Error handling: a row that cannot become a request (anything but a cancellation or a failure of
the request itself) is poisoned: marked ``failed``, logged once with its id, and the sender goes
on with the next row. A ``DatabaseError`` leaves the rows as they are (a claimed row waits for
its lease to run out) and the sender tries again at its next poll.

httpx runs on trio here (through anyio); one client, and its connection pool, lives as long as
the actor's run.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import trio

from frontdesk.core.errors import DatabaseError
from frontdesk.core.wire import utc_now
from frontdesk.engine.storage import sms_outbox
from frontdesk.engine.storage.db import Database, Row

log = logging.getLogger(__name__)

RETRY_BASE_S = 0.5
RETRY_MAX_S = 300.0
MAX_ATTEMPTS = 25            # with the backoff cap: about two hours of trying
POLL_S = 5.0                 # look for due rows this often even without a nudge
HTTP_TIMEOUT_S = 15.0        # connecting, sending, each wait for the answer
BATCH = 20                   # queued SMS logged at once while no gateway is configured
MAX_ERROR_CHARS = 1000
RETRIED_STATUSES = frozenset({408, 425, 429})


class PermanentFailure(Exception):
    """The gateway refused the SMS for good; retrying will not help."""


class Retry(Exception):
    """The gateway could not take the SMS now; a later try may succeed."""


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]


def _masked(number: str) -> str:
    """A phone number for the log: enough to tell numbers apart, not to call one."""
    return number[:4] + "…" + number[-2:] if len(number) > 8 else "…"


class SmsSender:
    def __init__(self, db: Database, url: str | None, *, timeout_s: float = HTTP_TIMEOUT_S):
        self._db = db
        self._url = url
        self._timeout = httpx.Timeout(timeout_s)
        # longer than any attempt can take (a wait for the pool, connecting, writing and reading, one
        # timeout each), so a claimed row is never sent twice at once
        self._lease_s = 4 * timeout_s + 10.0
        self._nudge_send, self._nudge_recv = trio.open_memory_channel[None](1)

    def nudge(self) -> None:
        """An SMS was queued: look now (coalesces: one pending nudge is enough)."""
        try:
            self._nudge_send.send_nowait(None)
        except trio.WouldBlock:
            pass

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
            task_status.started()
            if self._url is None:
                log.info("FRONTDESK_SMS_URL is not set: SMS stay queued in the sms_outbox table")
            while True:
                wait_s = POLL_S
                try:
                    if self._url is not None:
                        wait_s = await self._send_due(client, self._url)
                    else:
                        await self._log_queued()
                except DatabaseError as exc:
                    log.warning("SMS sender cannot read the SMS outbox: %s", exc)
                with trio.move_on_after(wait_s):
                    await self._nudge_recv.receive()

    async def _log_queued(self) -> None:
        for r in await sms_outbox.unannounced_queued(self._db, BATCH):
            log.info("SMS %s queued (no FRONTDESK_SMS_URL configured): to %s", r["id"], _masked(r["recipient"]))

    async def _send_due(self, client: httpx.AsyncClient, url: str) -> float:
        """Send every due row; return how long to sleep until the next one is due."""
        # one row per claim: its lease covers one attempt, not the attempts of the rows before it
        while rows := await sms_outbox.claim_due(self._db, 1, self._lease_s):
            for row in rows:
                await self._send_one(client, url, row)
        next_due = await sms_outbox.seconds_until_next(self._db)
        return POLL_S if next_due is None else max(0.05, min(POLL_S, next_due))

    async def _send_one(self, client: httpx.AsyncClient, url: str, row: Row) -> None:
        attempts = row["attempts"] + 1
        try:
            await _post(client, url, row)
        except PermanentFailure as exc:
            await sms_outbox.mark(self._db, row["id"], "failed", attempts, _error_text(exc))
            log.error("SMS %s to %s refused: %s", row["id"], _masked(row["recipient"]), exc)
        except (Retry, httpx.TransportError) as exc:
            if attempts >= MAX_ATTEMPTS:
                await sms_outbox.mark(self._db, row["id"], "failed", attempts, _error_text(exc))
                log.error("SMS %s failed %d times, giving up: %s", row["id"], attempts, exc)
                return
            delay = min(RETRY_MAX_S, RETRY_BASE_S * 2 ** (attempts - 1))
            await sms_outbox.mark(self._db, row["id"], "queued", attempts, _error_text(exc),
                                  utc_now() + timedelta(seconds=delay))
            log.warning("SMS %s not sent (attempt %d, next in %.1f s): %s", row["id"], attempts, delay, exc)
        except Exception as exc:    # the same row would fail the same way again: poisoned, never retried
            await sms_outbox.mark(self._db, row["id"], "failed", attempts, _error_text(exc))
            log.error("SMS %s cannot be sent, marked failed: %s", row["id"], _error_text(exc), exc_info=exc)
        else:
            await sms_outbox.mark(self._db, row["id"], "sent", attempts, None)


async def _post(client: httpx.AsyncClient, url: str, row: Row) -> None:
    """One attempt: raises ``PermanentFailure``, ``Retry`` or ``httpx.TransportError`` unless the
    gateway took the SMS."""
    response = await client.post(url, json={"to": row["recipient"], "text": row["text"]},
                                 headers={"Idempotency-Key": str(row["id"])})
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = f"HTTP {status}: {response.text[:200]!r}"
    if status in RETRIED_STATUSES or status >= 500:
        raise Retry(reason)
    raise PermanentFailure(reason)
