#!/usr/bin/env bash
# The queue at scale (BENCHMARKS.md, "The queue at scale"): the release jira-bridge on SQLite with a large
# delivery table, 90% of it succeeded history and 10% pending across 50 Jira sites, against one emulator
# that answers every request after 5 ms and serves all 50 sites (each site is another loopback address,
# 127.0.0.N, so each is a site of its own to jira-bridge, with its own per-site limit of 4).
#   benchmarks/queue.sh [ROWS]    (default 1000000; 1000 gives the small table to compare with)
# Prints: the claim's plans (EXPLAIN QUERY PLAN), the mean time of a claim (from /metrics), the delivery
# log's first page (API, wrk, 4 connections) and the drain rate over the first DRAIN_SECONDS (default 30).
# Environment: BENCH_BIN=DIR uses the binaries in DIR instead of building .build-release; QUEUE_SITES (50) sets
# the number of sites (QUEUE_SITES=1 shows whether one site's backlog drains at Jira's speed: 4 at once, 5 ms each).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
drain_seconds=${DRAIN_SECONDS:-30}
sites=${QUEUE_SITES:-50}
issues=100  # per site
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else swift build -c release --scratch-path .build-release >/dev/null; bin=.build-release/release; fi
. benchmarks/lib.sh
admin=bench-admin-token-0123456789abcdef
db="$work/data/jira-bridge.sqlite"
jira=$(start jira "$bin/jira-emulator" --port 0 --host 0.0.0.0 --deployment server)
python3 - "$jira" "$sites" "$issues" <<'PY'
import json, sys, urllib.request
port, sites, issues = (int(a) for a in sys.argv[1:])
def post(path, doc):
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(doc).encode(), {"Content-Type": "application/json"}))
for s in range(1, sites + 1):
    post("/_emulator/projects", {"key": f"S{s}", "name": f"Site {s}"})
    for i in range(issues):
        post("/_emulator/issues", {"project": f"S{s}", "summary": f"issue {i}"})
PY
serve() {
    start bridge env JIRA_BRIDGE_WEBHOOK_SECRET=bench JIRA_BRIDGE_LOG_LEVEL=warning JIRA_BRIDGE_ADMIN_TOKEN="$admin" \
        "$bin/jira-bridge" serve --port 0 --data-dir "$work/data" --allow-local-requests
}
port=$(serve)
api() { curl -sf -H "PRIVATE-TOKEN: $admin" -H 'Content-Type: application/json' "$@" >/dev/null; }
for s in $(seq 1 $sites); do
    api -X POST "http://127.0.0.1:$port/api/v4/projects" -d "{\"id\": $s, \"path_with_namespace\": \"acme/p$s\", \"web_url\": \"https://gitlab.example.com/acme/p$s\"}"
    api -X PUT "http://127.0.0.1:$port/api/v4/projects/$s/integrations/jira" \
        -d "{\"active\": true, \"url\": \"http://127.0.0.$s:$jira\", \"username\": \"jira-bot\", \"password\": \"secret-token\"}"
done
kill "$(cat "$work/bridge.pid")"
while kill -0 "$(cat "$work/bridge.pid")" 2>/dev/null; do sleep 0.1; done

echo "== filling the table: $rows deliveries, 90% succeeded, 10% pending over $sites site(s)"
began=$(date +%s.%N)
sqlite3 "$db" <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $rows)
INSERT INTO deliveries (event_id, project_id, site, issue_key, action, dedupe_key, content_key, work, status, attempts,
                        next_run_at, created_at, updated_at)
SELECT 'bench-' || (i / 2), i % $sites + 1, 'http://127.0.0.' || (i % $sites + 1) || ':$jira',
       'S' || (i % $sites + 1) || '-' || ((i / $sites) % $issues + 1), 'comment', 'comment|' || i, NULL,
       '{"format":1,"comment":{"body":"Change ' || i || ' mentioned this issue in a commit"}}',
       CASE WHEN i % 10 = 9 THEN 'pending' ELSE 'succeeded' END, CASE WHEN i % 10 = 9 THEN 0 ELSE 1 END,
       1700000000000 + i, 1700000000000 + i, 1700000000000 + i
FROM n;
COMMIT;
ANALYZE;
SQL
echo "filled in $(python3 -c "import time; print(round(time.time() - $began, 1))") s; database $(du -m "$db" | cut -f1) MB"
echo "== plans (SQLite EXPLAIN QUERY PLAN) of the claim's queries"
sqlite3 "$db" "EXPLAIN QUERY PLAN SELECT site, issue_key FROM deliveries WHERE status = 'running' AND lease_until > 0" | sed 's/^/running leases: /'
sqlite3 "$db" "EXPLAIN QUERY PLAN SELECT MIN(site) FROM deliveries WHERE status = 'pending' AND site > ''" | sed 's/^/next site: /'
sqlite3 "$db" "EXPLAIN QUERY PLAN SELECT * FROM deliveries WHERE status = 'pending' AND site = 'x' AND issue_key > '' ORDER BY issue_key, next_run_at, id LIMIT 1" | sed 's/^/next issue: /'
sqlite3 "$db" "EXPLAIN QUERY PLAN SELECT * FROM deliveries WHERE project_id = 1 ORDER BY id DESC LIMIT 20 OFFSET 0" | sed 's/^/log page: /'
sqlite3 "$db" "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM deliveries WHERE project_id = 1" | sed 's/^/log total: /'

# The emulator answers each Jira request after 5 ms.
curl -sf -X POST "http://127.0.0.1:$jira/_emulator/faults" -d '{"path": "/rest/", "delay_ms": 5, "times": 1000000000}' >/dev/null
pending() { sqlite3 "$db" "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'running')"; }
before=$(pending)
port=$(serve)
began=$(date +%s.%N)
# Until the queue is empty or DRAIN_SECONDS have passed, whichever comes first.
deadline=$(python3 -c "print($began + $drain_seconds)")
after=$before
while python3 -c "import sys, time; sys.exit(0 if time.time() < $deadline else 1)"; do
    sleep 0.5
    after=$(pending)
    [ "$after" -eq 0 ] && break
done
elapsed=$(python3 -c "import time; print(time.time() - $began)")
metrics=$(curl -s "http://127.0.0.1:$port/metrics")
python3 - "$before" "$after" "$elapsed" "$sites" <<PY
import re, sys
before, after, elapsed, sites = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
text = """$metrics"""
total = float(re.search(r'^jira_bridge_queue_claim_duration_seconds_sum (\S+)', text, re.M).group(1))
count = float(re.search(r'^jira_bridge_queue_claim_duration_seconds_count (\S+)', text, re.M).group(1))
done = before - after
requests = sum(float(v) for v in re.findall(r'^jira_bridge_jira_request_duration_seconds_count\{[^}]*\} (\S+)', text, re.M))
print(f"drain: {done} deliveries in {elapsed:.1f} s: {done / elapsed:.0f} deliveries/s, {requests / elapsed:.0f} Jira requests/s "
      f"({requests / elapsed / sites:.1f} per site per second); {after} still pending")
print(f"claims: {count:.0f}, mean {total / max(count, 1) * 1000:.3f} ms")
jira_sum = sum(float(v) for v in re.findall(r'^jira_bridge_jira_request_duration_seconds_sum\{[^}]*\} (\S+)', text, re.M))
print(f"Jira requests as the bridge saw them: mean {jira_sum / max(requests, 1) * 1000:.2f} ms")
PY
echo "== the delivery log's first page (GET .../deliveries, project 1), 4 connections, 10 s, while the queue drains"
cat > "$work/page.lua" <<LUA
wrk.headers["PRIVATE-TOKEN"] = "$admin"
LUA
wrk -t 1 -c 4 -d "${LOG_SECONDS:-10}s" --latency -s "$work/page.lua" "http://127.0.0.1:$port/api/v4/projects/1/integrations/jira/deliveries" \
    | grep -E "Requests/sec|50%|99%|Non-2xx"
awk '/VmRSS/ {r=$2} /VmHWM/ {h=$2} END {printf "server RSS %.0f MB (peak %.0f MB)\n", r/1024, h/1024}' /proc/"$(cat "$work/bridge.pid")"/status
