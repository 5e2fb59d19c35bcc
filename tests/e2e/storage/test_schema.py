"""The schema as the engine applies it at every start: idempotent, with the storage settings the
hot tables were measured with (benchmarks/README.md)."""

from __future__ import annotations

from frontdesk.engine.storage.db import open_database
from frontdesk.engine.storage.queries import schema_sql


async def test_message_search_index_merges_small_pending_lists_also_after_a_second_start(database_url: str) -> None:
    async with open_database(database_url) as db:
        # as a database made by an older schema has it
        await db.execute("ALTER INDEX messages_text_search_idx RESET (gin_pending_list_limit)")
        await db.apply_schema(schema_sql())
        await db.apply_schema(schema_sql())
        options = await db.fetchval("SELECT reloptions FROM pg_class WHERE relname = 'messages_text_search_idx'")
        assert options == ["gin_pending_list_limit=256"]
