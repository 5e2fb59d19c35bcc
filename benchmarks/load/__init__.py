"""Load generator for frontdesk, with the bare websocket relay as its baseline.

    .venv/bin/python -m benchmarks.load --scenario smoke|steady|soak|saturate|idle|burst|scale [flags]

Modules, each with one job:

- ``config.py``     settings of a run and the named scenarios
- ``cli.py``        flags → settings → servers → one trio run → report, JSON, plots; exit status
- ``servers.py``    throw-away PostgreSQL, the engine and the relay (bare or durable) as pinned subprocesses
- ``agents_db.py``  bench agents (and their tokens) written straight into the database
- ``traffic.py``    the conversation script both targets share (closed / open loop, replies, end)
- ``engine_sim.py`` agents and customers speaking protocol v1 to the engine
- ``relay_sim.py``  the same conversations as socket pairs on the bare (or durable) relay
- ``http_lanes.py`` keep-alive HTTP/1.1 lanes (h11) for the chats' POSTs
- ``wsio.py``       opening websockets, sending and expecting JSON frames
- ``converse.py``   segments of conversations, engine and relay interleaved (smoke, steady, soak, saturate)
- ``flood.py``      one customer flooding its chat with large messages in the middle of a run
- ``idle.py``       many idle authenticated sockets (idle)
- ``burst.py``      many chats at once (burst)
- ``scale.py``      an engine over 100,000 resting messaging conversations: its phases (scale)
- ``scale_seed.py`` those conversations and their tokens, written before the engine starts
- ``scale_agents.py`` agents that accept every offer and set the conversation pending
- ``scale_signin.py`` customers signing in by code, where the engine serves it
- ``scale_report.py`` the scale scenario's table (each path beside its floor) and plot
- ``stats.py``      latencies (exact + HDR), per-second timeline, errors
- ``sampler.py``    CPU, run-queue waits and RSS of the engine, relay, PostgreSQL and generator from /proc
- ``engine_metrics.py`` the engine's own commit figures from /metrics, per measured window
- ``context.py``    what the parts of one run share
- ``progress.py``   the live progress bar
- ``memory.py``     RSS at the end of the warm-up, at the end, and around a flood, from the sampler's series
- ``report.py``     the JSON report, ratios to the baseline, the printed tables
- ``plots.py``      PNG plots (latency CDF; throughput, chats, p99 and resources over time)
"""
