"""How many websockets one token and one client address may hold open (PROTOCOL.md §13): one more
is answered ``error`` ``rate_limited`` and closed with 1008; a closed one frees its place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from conftest import Engine, connect, make_config, running_engine

CLOSE_POLICY = 1008


@pytest.fixture
async def limited(database_url: str, data_dir: Path) -> AsyncIterator[Engine]:
    config = make_config(database_url, data_dir, rate_limit_per_s=50, rate_limit_burst=100,
                         limit_sockets_per_token=2, limit_sockets_per_address=4)
    async with running_engine(config) as engine:
        yield engine


async def test_one_token_holds_a_bounded_number_of_sockets(limited: Engine) -> None:
    token = (await limited.login("agent1@demo.test"))["token"]
    async with connect(limited, token, "tab 1"), connect(limited, token, "tab 2"):
        async with connect(limited, token, "tab 3", hello=False) as third:
            await third.send({"type": "hello", "token": token})
            refused = await third.expect("error")
            assert refused["code"] == "rate_limited"
            assert await third.closed_code() == CLOSE_POLICY
    async with connect(limited, token, "a tab after the others closed") as again:
        assert again.info["role"] == "agent"


async def test_one_address_holds_a_bounded_number_of_sockets(limited: Engine) -> None:
    tokens = [(await limited.login(f"agent{n}@demo.test"))["token"] for n in (1, 2)]
    async with AsyncExitStack() as stack:
        for i in range(4):
            await stack.enter_async_context(connect(limited, tokens[i % 2], f"socket {i}"))
        async with connect(limited, tokens[0], "one too many", hello=False) as fifth:
            refused = await fifth.expect("error")
            assert refused["code"] == "rate_limited" and "address" in refused["message"]
            assert await fifth.closed_code() == CLOSE_POLICY
