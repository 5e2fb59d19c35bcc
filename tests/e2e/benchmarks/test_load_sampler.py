"""The load generator's /proc sampler with real child processes: a cluster's children are found,
kept between scans and looked for again when one has gone (behaviour only, no timing; reading
/proc alone: tests/unit/benchmarks/load/test_sampler.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from benchmarks.load.sampler import CHILDREN_EVERY_S, Group


def test_a_cluster_counts_its_children_and_notices_one_that_ended() -> None:
    children = [subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
                for _ in range(2)]
    try:
        group = Group("cluster", os.getpid(), with_children=True)
        group.sample(0.0)
        group.sample(1.0)
        base = group.samples[-1]["processes"]       # this process, the two children (and any others it has)
        assert base >= 3 and group.samples[-1]["rss_mib"] > 0

        late = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
        children.append(late)
        group.sample(2.0)                                       # within CHILDREN_EVERY_S: not looked for yet
        assert group.samples[-1]["processes"] == base
        group.sample(1.0 + CHILDREN_EVERY_S)
        assert group.samples[-1]["processes"] == base + 1

        first = children.pop(0)
        first.communicate(b"")                                  # it ends, and is reaped
        group.sample(2.0 + CHILDREN_EVERY_S)                    # gone: counted out, and the next sample looks again
        assert group.samples[-1]["processes"] == base
        group.sample(3.0 + CHILDREN_EVERY_S)
        assert group.samples[-1]["processes"] == base
    finally:
        for child in children:
            child.communicate(b"")
