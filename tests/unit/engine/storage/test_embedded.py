"""The embedded database's CPU policy (engine/storage/embedded.py) without a postmaster: nothing
changes (the postmaster and its children, real processes: tests/e2e/storage/test_embedded_db.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from frontdesk.engine.storage.embedded import postmaster_pid, schedule_as_batch

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="Linux scheduling policies")


def test_without_a_postmaster_nothing_changes(tmp_path: Path) -> None:
    assert postmaster_pid(tmp_path) is None
    assert schedule_as_batch(tmp_path) == 0
    (tmp_path / "postmaster.pid").write_text("not a pid\n")
    assert schedule_as_batch(tmp_path) == 0
