"""Bench agents straight in the database (asyncpg in a plain ``asyncio.run``: the generator is not the engine).

Agents of capacity 5 in the ``support`` queue are upserted as ``benchmarks/latency.py`` does.
Signing in costs the engine one argon2 verification (~0.3 s of its CPU here), so only the first
few agents sign in over HTTP (the ``login`` path); the others get a bearer token written to the
``tokens`` table the way the engine writes one (SHA-256 of 256 random bits, 12 h). Everything an
agent does after that — hello, presence, offers — goes through the engine as usual.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from ..latency import BENCH_PASSWORD, HTTP_TIMEOUT_S, add_bench_agents

TOKEN_TTL_S = 12 * 3600


async def _tokens(database_url: str, emails: list[str]) -> dict[str, str]:
    import asyncpg

    conn = await asyncpg.connect(database_url, timeout=HTTP_TIMEOUT_S)
    try:
        rows = await conn.fetch("SELECT id, email FROM staff WHERE lower(email) = ANY($1::text[])",
                                [e.lower() for e in emails])
        ids = {r["email"].lower(): r["id"] for r in rows}
        tokens = {e: secrets.token_urlsafe(32) for e in emails}
        expires = datetime.now(UTC) + timedelta(seconds=TOKEN_TTL_S)
        await conn.executemany(
            "INSERT INTO tokens (token_hash, kind, subject_id, expires_at) VALUES ($1, 'agent', $2, $3)",
            [(hashlib.sha256(tokens[e].encode()).digest(), ids[e.lower()], expires) for e in emails])
    finally:
        await conn.close(timeout=HTTP_TIMEOUT_S)
    return tokens


def prepare_agents(database_url: str, count: int, token_count: int) -> tuple[list[str], dict[str, str]]:
    """Upsert ``count`` bench agents; tokens for the last ``token_count`` of them. Returns (e-mails, tokens)."""
    from frontdesk.core.auth import hash_password

    emails = asyncio.run(add_bench_agents(database_url, count, hash_password(BENCH_PASSWORD)))
    with_tokens = emails[len(emails) - token_count:] if token_count > 0 else []
    tokens = asyncio.run(_tokens(database_url, with_tokens)) if with_tokens else {}
    return emails, tokens
