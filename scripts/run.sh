#!/usr/bin/env bash
# `make run`: the engine and the supervisor dashboard on the embedded PostgreSQL with the demo data.
#
# Starts `frontdesk serve --demo`, waits for its /healthz, then starts `frontdesk dashboard` on the
# same database (the embedded one in $FRONTDESK_DATA_DIR, or $FRONTDESK_DATABASE_URL), waits for it,
# and prints both URLs and the demo logins. Ctrl-C (or SIGTERM) stops the dashboard first, then
# the engine, which also stops the embedded PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
HOST=${FRONTDESK_HOST:-127.0.0.1}
ENGINE_PORT=${FRONTDESK_PORT:-8080}
DASHBOARD_PORT=${DASHBOARD_PORT:-8501}
STARTUP_TIMEOUT_S=${STARTUP_TIMEOUT_S:-120}

# Each child gets its own process group (job control), so Ctrl-C reaches this script only and the
# shutdown order stays ours: `frontdesk dashboard` runs Streamlit as a child, so its group is killed.
set -m
engine_pid=""
dashboard_pid=""

stop() {
    trap - INT TERM EXIT
    if [[ -n "$dashboard_pid" ]] && kill -0 "$dashboard_pid" 2>/dev/null; then
        kill -TERM -- "-$dashboard_pid" 2>/dev/null || true
        wait "$dashboard_pid" 2>/dev/null || true
    fi
    if [[ -n "$engine_pid" ]] && kill -0 "$engine_pid" 2>/dev/null; then
        kill -TERM -- "-$engine_pid" 2>/dev/null || true
        wait "$engine_pid" 2>/dev/null || true
    fi
    echo "stopped."
}
trap stop INT TERM EXIT

wait_for() {  # url, pid, what
    "$BIN/python" - "$1" "$2" "$3" "$STARTUP_TIMEOUT_S" <<'PY'
import os, sys, time, urllib.request
url, pid, what, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(f"{what} exited during start-up (see its output above)")
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit(f"{what} did not answer {url} within {timeout:.0f}s")
PY
}

"$BIN/frontdesk" serve --demo --host "$HOST" --port "$ENGINE_PORT" &
engine_pid=$!
wait_for "http://$HOST:$ENGINE_PORT/healthz" "$engine_pid" "the engine"

"$BIN/frontdesk" dashboard --port "$DASHBOARD_PORT" &
dashboard_pid=$!
wait_for "http://127.0.0.1:$DASHBOARD_PORT/_stcore/health" "$dashboard_pid" "the dashboard"

cat <<MSG

  Engine:     http://$HOST:$ENGINE_PORT   (websocket ws://$HOST:$ENGINE_PORT/ws)
  Dashboard:  http://127.0.0.1:$DASHBOARD_PORT   sign in as supervisor@demo.test / demo-password
  Customers:  http://$HOST:$ENGINE_PORT/chat?queue=support
  Agents:     http://$HOST:$ENGINE_PORT/agent   agent1@demo.test ... agent4@demo.test / demo-password

  Ctrl-C stops both.

MSG
# Whichever stops first ends the session (the trap stops the other).
wait -n "$engine_pid" "$dashboard_pid" || true
