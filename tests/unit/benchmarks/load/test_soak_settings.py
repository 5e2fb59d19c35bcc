"""The soak scenario and the flood flags of the load generator (benchmarks/load/config.py, cli.py):
what a run is set to do, before any server starts."""

from __future__ import annotations

import pytest

from benchmarks.load.cli import parse_args


def test_soak_is_steady_traffic_for_fifteen_minutes_after_a_warm_up() -> None:
    soak, steady = parse_args(["--scenario", "soak"]), parse_args(["--scenario", "steady"])
    assert (soak.duration_s, soak.warmup_s) == (900.0, 120.0)
    for name in ("kind", "mode", "conversations", "rate", "exchanges", "agents"):
        assert getattr(soak, name) == getattr(steady, name), name
    assert soak.flood_messages == 0


def test_a_flood_gets_an_agent_of_its_own_and_its_size_from_the_flags() -> None:
    cfg = parse_args(["--scenario", "soak", "--flood-messages", "500", "--flood-chars", "2000", "--duration", "60"])
    assert (cfg.flood_messages, cfg.flood_chars, cfg.duration_s) == (500, 2000, 60.0)
    assert cfg.agent_count == cfg.agents + 1


@pytest.mark.parametrize("flags", [
    ["--scenario", "idle", "--flood-messages", "10"],
    ["--scenario", "soak", "--flood-messages", "10", "--flood-chars", "10001"],
    ["--scenario", "soak", "--flood-messages", "-1"],
])
def test_a_flood_that_cannot_run_is_refused(flags: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(flags)
