"""The engine's HTTP API as the dashboard calls it, for what the engine itself must do (one
implementation of its rules): create and activate customers, which makes codes, mails and SMS.

Each call is made as the signed-in supervisor with a token minted for that call alone: a random
token whose hash is stored in ``tokens`` (as the engine's sign-in stores one) with a lifetime of
a minute, deleted when the call is done. The dashboard keeps no engine token in its session.
The engine is found at ``FRONTDESK_ENGINE_URL`` (default ``http://127.0.0.1:8080``, what
``make run`` serves).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from frontdesk.core import auth
from frontdesk.dashboard import common

CALL_TOKEN_TTL = timedelta(minutes=1)
TIMEOUT_S = 10.0


@dataclass
class ApiAnswer:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> dict[str, Any]:
        return dict(self.body.get("error") or {})


def error_parts(answer: ApiAnswer, labels: dict[str, str]) -> tuple[str, str]:
    """A refusal in words: (the field it names, by its label on the form; the engine's reason)."""
    error = answer.error
    field = str(error.get("field") or "")
    base = field.split("[")[0].split(".")[0]
    label = labels.get(field) or labels.get(base) or field.replace("_", " ")
    if answer.status in (401, 403):
        return label, "you may not do this (signed out, or your account was disabled)"
    return label, str(error.get("message") or f"the engine answered {answer.status}")


class EngineUnreachable(Exception):
    """The engine did not answer at ``engine_url()``."""


def engine_url() -> str:
    return (os.environ.get("FRONTDESK_ENGINE_URL") or "http://127.0.0.1:8080").rstrip("/")


def call(supervisor_id: str, method: str, path: str, body: dict[str, Any] | None = None) -> ApiAnswer:
    """``method path`` with ``body`` as JSON, as supervisor ``supervisor_id``. Raises EngineUnreachable."""
    token, token_hash = auth.new_token()
    with common.connection() as conn:
        # a supervisor disabled meanwhile gets no token: the engine answers 401
        conn.execute("INSERT INTO tokens (token_hash, kind, subject_id, expires_at) SELECT %s, 'supervisor', id, %s "
                     "FROM staff WHERE id = %s AND role = 'supervisor' AND disabled_at IS NULL",
                     (token_hash, datetime.now(UTC) + CALL_TOKEN_TTL, uuid.UUID(supervisor_id)))
    try:
        try:
            r = httpx.request(method, engine_url() + path, json=body, timeout=TIMEOUT_S,
                              headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise EngineUnreachable(f"The engine at {engine_url()} did not answer ({type(exc).__name__}). "
                                    "Is it running? FRONTDESK_ENGINE_URL names where it is.") from None
        try:
            data = r.json()
        except ValueError:
            data = {}
        return ApiAnswer(r.status_code, data if isinstance(data, dict) else {})
    finally:
        with common.connection() as conn:
            conn.execute("DELETE FROM tokens WHERE token_hash = %s", (token_hash,))
