#!/usr/bin/env bash
# Reproduces the figures in BENCHMARKS.md: webhook intake (wrk) and key extraction (jira-bridge keys).
# Needs: wrk (Debian package), the corpus in ../shared/reference/corpus/.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --scratch-path .build-release >/dev/null
bin=.build-release/release
work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

if [ "${1:-}" != "intake" ]; then
echo "== key extraction"
cat ../shared/reference/corpus/*.jsonl > "$work/corpus.jsonl"
python3 -c "
import json,sys
print('\n\n'.join(json.loads(l)['message'] for l in open('$work/corpus.jsonl')))" > "$work/corpus.txt"
for i in 1 2 3; do "$bin/jira-bridge" keys --stats < "$work/corpus.txt" 2>&1 >/dev/null | sed 's/^/plain text, default pattern: /'; done
for i in 1 2 3; do "$bin/jira-bridge" keys --regex '[A-Z][A-Z_0-9]+-\d+' --stats < "$work/corpus.txt" 2>&1 >/dev/null | sed 's/^/plain text, user regex: /'; done
/usr/bin/time -f "jsonl end to end: %e s, max RSS %M KB" "$bin/jira-bridge" keys --jsonl --stats < "$work/corpus.jsonl" > /dev/null

fi
echo "== webhook intake"
JIRA_BRIDGE_WEBHOOK_SECRET=bench-secret JIRA_BRIDGE_LOG_LEVEL=warning "$bin/jira-bridge" serve --port 0 --data-dir "$work/data" > "$work/log" 2>&1 &
echo $! > "$work/pid"
for _ in $(seq 1 100); do grep -q "listening on" "$work/log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p' "$work/log" | head -1)
token=$(cat "$work/data/admin-token")
curl -s -X POST "http://127.0.0.1:$port/api/v4/projects" -H "PRIVATE-TOKEN: $token" \
  -d 'id=42&path_with_namespace=acme/shop&web_url=https://gitlab.example.com/acme/shop' >/dev/null
echo "idle RSS: $(grep VmRSS /proc/$(cat "$work/pid")/status)"
for c in 1 16 64; do
  echo "-- $c connections"
  wrk -t 1 -c $c -d 10s --latency -s benchmarks/intake.lua "http://127.0.0.1:$port/webhooks/gitlab" \
    | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
  echo "RSS after: $(grep VmRSS /proc/$(cat "$work/pid")/status)"
done
echo "events stored: $(sqlite3 "$work/data/jira-bridge.sqlite" 'select count(*) from events')"
