#!/usr/bin/env bash
# Webhook intake as a forge sees it (BENCHMARKS.md, "Webhook intake"): the release jira-bridge as a whole
# process, GitLab's push example (benchmarks/intake.lua, each request with its own Idempotency-Key, so each
# one stores an event), wrk at 1, 16 and 64 connections.
#   benchmarks/intake.sh [active|none] [sqlite|postgres]
#     active (default): the project has an active integration on a live emulator, so planning and the
#            deliveries run during the measurement (the push mentions PROJ-12 in one commit: the first webhook's
#            two deliveries go to Jira, the later ones are the same mention and plan none);
#     none:  the project is registered with no integration (planning runs and finds nothing to do).
# Environment: BENCH_BIN=DIR uses the binaries in DIR instead of building .build-release (to pair two builds);
# BENCH_SECONDS (10) and BENCH_CONNECTIONS ("1 16 64") shorten it (the CI smoke pass: 1 s, "4").
# Prints, per connection count: requests/s, p50, p99, non-2xx answers, the server's CPU time per request (user and
# system, from /proc: steadier than requests/s on a busy machine) and its RSS (now and peak).
set -euo pipefail
cd "$(dirname "$0")/.."
integration=${1:-active}
store=${2:-sqlite}
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-1 16 64}
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else swift build -c release --scratch-path .build-release >/dev/null; bin=.build-release/release; fi
. benchmarks/lib.sh
admin=bench-admin-token-0123456789abcdef
database_url "$store" intake
jira=$(start jira "$bin/jira-emulator" --port 0 --deployment server --seed)
for i in $(seq 4 12); do  # --seed makes PROJ-1 to PROJ-3; the push mentions PROJ-12
    curl -sf -X POST "http://127.0.0.1:$jira/_emulator/issues" -H 'Content-Type: application/json' -d "{\"project\": \"PROJ\", \"summary\": \"issue $i\"}" >/dev/null
done
port=$(start bridge env JIRA_BRIDGE_WEBHOOK_SECRET=bench-secret JIRA_BRIDGE_LOG_LEVEL=warning JIRA_BRIDGE_ADMIN_TOKEN="$admin" \
    JIRA_BRIDGE_SECRET_KEY="$(head -c 32 /dev/urandom | base64)" \
    "$bin/jira-bridge" serve --port 0 --data-dir "$work/data" --database-url "$url" --allow-local-requests)
api() { curl -sf -H "PRIVATE-TOKEN: $admin" -H 'Content-Type: application/json' "$@" >/dev/null; }
api -X POST "http://127.0.0.1:$port/api/v4/projects" \
    -d '{"id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop"}'
if [ "$integration" = active ]; then
    api -X PUT "http://127.0.0.1:$port/api/v4/projects/42/integrations/jira" \
        -d "{\"active\": true, \"url\": \"http://127.0.0.1:$jira\", \"username\": \"jira-bot\", \"password\": \"secret-token\"}"
fi
pid=$(cat "$work/bridge.pid")
rss() { awk '/VmRSS/ {r=$2} /VmHWM/ {h=$2} END {printf "RSS %.0f MB (peak %.0f MB)", r/1024, h/1024}' /proc/"$pid"/status; }
echo "== intake, $integration integration, $store, $(nproc) cores; idle: $(rss)"
cpu() { awk '{print $14 + $15}' /proc/"$pid"/stat; }  # the server's user and system time, in clock ticks
ticks=$(getconf CLK_TCK)
for c in $connections; do
    before=$(cpu)
    out=$(wrk -t 1 -c "$c" -d "${seconds}s" --latency -s benchmarks/intake.lua "http://127.0.0.1:$port/webhooks/gitlab" -- "c$c-")
    used=$(( $(cpu) - before ))
    requests=$(awk '/requests in/ {print $1}' <<< "$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<< "$out")
    p50=$(awk '$1 == "50%" {print $2}' <<< "$out")
    p99=$(awk '$1 == "99%" {print $2}' <<< "$out")
    bad=$(awk '/Non-2xx/ {print $NF}' <<< "$out")
    errors=$(grep -o 'Socket errors.*' <<< "$out" || true)
    # CPU per request: the server's own time, which moves less than requests/s when the machine is busy.
    per=$(awk -v u="$used" -v t="$ticks" -v n="$requests" 'BEGIN {printf "%.0f", u * 1e6 / t / n}')
    echo "$c connections: $rps requests/s, p50 $p50, p99 $p99, non-2xx ${bad:-0}${errors:+, $errors}; server CPU $per µs per request; $(rss)"
done
sleep 1
echo "deliveries: $(curl -s -H "PRIVATE-TOKEN: $admin" "http://127.0.0.1:$port/api/v4/projects/42/integrations/jira/deliveries" |
    python3 -c 'import json,sys,collections; print(dict(collections.Counter(d["status"] for d in json.load(sys.stdin))))'); \
Jira requests served by the emulator: $(curl -s "http://127.0.0.1:$jira/_emulator/requests" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
