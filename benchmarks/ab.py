"""Interleaved A/B runs of the load generator: which of two engines (or settings) is better.

On a shared machine one engine's figures move by a factor of two within the hour, so a change is
judged against the engine before it in the same hour, run after run, never against a figure from
another day (benchmarks/README.md, "Deciding a change")::

    git worktree add /tmp/before HEAD~1
    python -m benchmarks.ab --variant before=/tmp/before --variant after= --pairs 3 \\
        -- --scenario steady --duration 30

Each ``--variant NAME=PATH`` is an engine: PATH goes first on the engine's ``PYTHONPATH`` (a
checkout or worktree of another commit; several joined by ``:``, e.g. with
``benchmarks/engine_probe``), empty for this checkout. ``--variant-env NAME:KEY=VALUE``
adds engine environment to one variant (e.g. the ``engine_probe`` switches), and
``--variant-args NAME:ARGS`` adds load-generator arguments to one variant (a setting of the
harness, e.g. ``--pg-sched-normal``), and ``--generator-from NAME:DIR`` runs that variant's load
generator from another checkout (to judge a change to the generator itself, run both variants'
engines from this one). Every run is a whole
``python -m benchmarks.load`` (its own PostgreSQL and engine); the arguments after ``--`` go to
each. A pair runs every variant once, the order reversed every other pair (ABBA), so a machine
that gets busier biases no variant.

The table gives each figure's median over the runs, its range, the ratio of the medians to the
first variant, and in how many pairs the variant was lower: a change that wins 3 of 3 pairs is
worth believing; one whose ranges overlap and wins 2 of 4 is noise. A JSON summary goes to
``results/ab-<name>-<UTC time>.json``. Exit status: 0 when every run exited 0, else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"

Report = dict[str, Any]


def _path(name: str, figure: str) -> Callable[[Report], float | None]:
    return lambda t: t["paths"].get(name, {}).get(figure)


def _resource(process: str, figure: str) -> Callable[[Report], float | None]:
    return lambda t: t["resources"].get(process, {}).get(figure)


def _engine_side(figure: str) -> Callable[[Report], float | None]:
    def get(t: Report) -> float | None:
        values = [side[figure] for side in t.get("extra", {}).get("engine_side", []) if side.get(figure) is not None]
        return statistics.fmean(values) if values else None
    return get


# (label, how to read it from the engine's target in a report); a figure a scenario lacks is skipped
FIGURES: list[tuple[str, Callable[[Report], float | None]]] = [
    ("c2a p50 ms", _path("c2a", "p50_ms")),
    ("c2a p99 ms", _path("c2a", "p99_ms")),
    ("c2a p99.9 ms", _path("c2a", "p99_9_ms")),
    ("a2c p50 ms", _path("a2c", "p50_ms")),
    ("ack p50 ms", _path("ack", "p50_ms")),
    ("offer p50 ms", _path("offer", "p50_ms")),
    ("connect p50 ms", _path("agent_connect", "p50_ms")),
    ("msgs/s", lambda t: t["throughput"].get("msgs_per_s") or None),
    ("engine CPU µs/msg", lambda t: t["throughput"].get("server_cpu_us_per_msg")),
    ("engine CPU %", _resource("engine", "cpu_pct_mean")),
    ("engine waits %", _resource("engine", "runq_wait_pct_mean")),
    ("engine RSS MiB", _resource("engine", "rss_mib_max")),
    ("PostgreSQL CPU %", _resource("postgres", "cpu_pct_mean")),
    ("generator CPU %", _resource("generator", "cpu_pct_mean")),
    ("commit ms", _engine_side("commit_ms_mean")),
    ("send → fan-out ms", _engine_side("send_to_fanout_ms_mean")),
    ("chat start ms", _engine_side("chat_start_ms_mean")),
    ("burst: all offered after s", lambda t: t.get("extra", {}).get("all_offered_after_last_arrival_s")),
    ("burst: chats/s", lambda t: t.get("extra", {}).get("chats_per_s_achieved")),
    ("burst: engine CPU ms/chat", lambda t: t.get("throughput", {}).get("server_cpu_ms_per_chat")),
    ("burst: generator CPU ms/chat", lambda t: t.get("throughput", {}).get("generator_cpu_ms_per_chat")),
]


def figures(report: Report) -> dict[str, float]:
    """The engine's figures in one load report, by label (only those the report has)."""
    engine = report["targets"]["engine"]
    out: dict[str, float] = {}
    for label, read in FIGURES:
        try:
            value = read(engine)
        except (KeyError, TypeError):
            value = None
        if isinstance(value, int | float):
            out[label] = float(value)
    return out


def run_order(variants: list[str], pairs: int) -> list[tuple[int, str]]:
    """(pair, variant) in the order they run: each pair every variant, every other pair reversed."""
    order: list[tuple[int, str]] = []
    for pair in range(1, pairs + 1):
        order += [(pair, v) for v in (variants if pair % 2 else variants[::-1])]
    return order


def summarize(variants: list[str], runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per figure and variant: median, range, ratio to the first variant and pairs it was lower in."""
    base = variants[0]
    labels = [label for label, _ in FIGURES if any(label in r["figures"] for r in runs)]
    summary: dict[str, dict[str, Any]] = {}
    for label in labels:
        by: dict[str, dict[int, float]] = {v: {r["pair"]: r["figures"][label] for r in runs
                                               if r["variant"] == v and label in r["figures"]} for v in variants}
        row: dict[str, Any] = {}
        for v in variants:
            values = list(by[v].values())
            if not values:
                continue
            cell: dict[str, Any] = {"median": statistics.median(values), "min": min(values), "max": max(values),
                                    "runs": len(values)}
            if v != base and by[base]:
                base_median = statistics.median(by[base].values())
                cell["ratio"] = cell["median"] / base_median if base_median else None
                paired = [p for p in by[v] if p in by[base]]
                cell["lower_in_pairs"] = [sum(by[v][p] < by[base][p] for p in paired), len(paired)]
            row[v] = cell
        summary[label] = row
    return summary


def table(variants: list[str], summary: dict[str, dict[str, Any]]) -> str:
    head = ["figure"] + [f"{v} median [range]" for v in variants] + \
        [f"{v} ÷ {variants[0]} (lower in)" for v in variants[1:]]
    lines = [head]
    for label, row in summary.items():
        cells = [label]
        for v in variants:
            c = row.get(v)
            cells.append("-" if c is None else f"{c['median']:.4g} [{c['min']:.4g}–{c['max']:.4g}]")
        for v in variants[1:]:
            c = row.get(v)
            if c is None or c.get("ratio") is None:
                cells.append("-")
            else:
                lower, n = c["lower_in_pairs"]
                cells.append(f"{c['ratio']:.3f} ({lower}/{n})")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines)


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    argv = sys.argv[1:] if argv is None else argv
    load_args = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(prog="python -m benchmarks.ab", description=__doc__.split("\n\n")[0])
    p.add_argument("--variant", action="append", required=True, metavar="NAME=PATH",
                   help="an engine: PATH first on its PYTHONPATH (empty: this checkout); two or more")
    p.add_argument("--variant-env", action="append", default=[], metavar="NAME:KEY=VALUE",
                   help="engine environment for one variant (repeatable)")
    p.add_argument("--variant-args", action="append", default=[], metavar="NAME:ARGS",
                   help="load-generator arguments for one variant, e.g. two:'--pg-sched-normal' (repeatable)")
    p.add_argument("--generator-from", action="append", default=[], metavar="NAME:DIR",
                   help="run this variant's load generator from the checkout DIR")
    p.add_argument("--pairs", type=int, default=3, help="runs of every variant [3]")
    p.add_argument("--name", default="ab", help="a word for the result files")
    p.add_argument("--out-dir", default=str(RESULTS_DIR), help="where the summary goes [benchmarks/results]")
    args = p.parse_args(own)
    if len(args.variant) < 2 or any("=" not in v for v in args.variant):
        p.error("give two or more --variant NAME=PATH")
    names = [v.split("=", 1)[0] for v in args.variant]
    if len(set(names)) != len(names) or not all(names):
        p.error("variant names must be given and differ")
    for item in args.variant_env:
        name, _, setting = item.partition(":")
        if name not in names or "=" not in setting:
            p.error(f"--variant-env {item!r}: want NAME:KEY=VALUE with a NAME of a --variant")
    for item in args.variant_args:
        if item.partition(":")[0] not in names:
            p.error(f"--variant-args {item!r}: want NAME:ARGS with a NAME of a --variant")
    for item in args.generator_from:
        name, _, directory = item.partition(":")
        if name not in names or not (Path(directory) / "benchmarks" / "load").is_dir():
            p.error(f"--generator-from {item!r}: want NAME:DIR with a NAME of a --variant and a checkout DIR")
    if args.pairs < 1:
        p.error("--pairs must be at least 1")
    return args, load_args


def main(argv: list[str] | None = None) -> int:
    args, load_args = parse_args(argv)
    paths = dict(v.split("=", 1) for v in args.variant)
    variants = list(paths)
    extra_env: dict[str, list[str]] = {v: [] for v in variants}
    for item in args.variant_env:
        name, _, setting = item.partition(":")
        extra_env[name].append(setting)
    extra_args: dict[str, list[str]] = {v: [] for v in variants}
    for item in args.variant_args:
        name, _, words = item.partition(":")
        extra_args[name] += shlex.split(words)
    generator_dir = {v: ROOT for v in variants}
    for item in args.generator_from:
        name, _, directory = item.partition(":")
        generator_dir[name] = Path(directory).resolve()
    runs: list[dict[str, Any]] = []
    failed = 0
    with tempfile.TemporaryDirectory(prefix="fd-ab-") as tmp:
        for n, (pair, variant) in enumerate(run_order(variants, args.pairs), 1):
            out = Path(tmp) / f"{pair}-{variant}"
            cmd = [sys.executable, "-m", "benchmarks.load", *load_args, "--no-baseline", "--rounds", "1",
                   "--no-plots", "--progress", "off", "--out-dir", str(out), "--tag", f"{args.name}-{variant}-{pair}"]
            if paths[variant]:
                resolved = os.pathsep.join(str(Path(part).resolve()) for part in paths[variant].split(os.pathsep))
                cmd += ["--engine-env", f"PYTHONPATH={resolved}"]
            for setting in extra_env[variant]:
                cmd += ["--engine-env", setting]
            cmd += extra_args[variant]
            started = time.perf_counter()
            proc = subprocess.run(cmd, cwd=generator_dir[variant], capture_output=True, text=True)
            reports = sorted(out.glob("load-*.json"))
            status = f"exit {proc.returncode}, {time.perf_counter() - started:.0f} s"
            if not reports:
                failed += 1
                print(f"[{n}] pair {pair} {variant}: no report ({status})\n{proc.stderr[-2000:]}", flush=True)
                continue
            failed += proc.returncode != 0
            found = figures(json.loads(reports[-1].read_text()))
            runs.append({"pair": pair, "variant": variant, "exit": proc.returncode, "figures": found})
            brief = ", ".join(f"{k} {found[k]:.4g}" for k in ("c2a p50 ms", "engine CPU µs/msg",
                                                               "burst: all offered after s") if k in found)
            print(f"[{n}] pair {pair} {variant}: {brief} ({status})", flush=True)
    summary = summarize(variants, runs)
    print(table(variants, summary))
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"ab-{args.name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    stem.write_text(json.dumps({"variants": paths, "variant_env": extra_env, "variant_args": extra_args,
                                "generator_from": {v: str(d) for v, d in generator_dir.items()}, "load_args": load_args,
                                "pairs": args.pairs, "load_average_after": os.getloadavg()[0],
                                "runs": runs, "summary": summary}, indent=1, ensure_ascii=False))
    print(f"wrote {stem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
