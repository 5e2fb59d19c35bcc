"""PostgreSQL: the one asyncpg bridge (through trio-asyncio), group commit and its planner, every
SQL statement, the schema, the embedded server and the demo data.

May import: ``runtime``, ``frontdesk.core``.
"""
