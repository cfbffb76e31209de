#!/usr/bin/env bash
# Memory and time for the largest webhooks (BENCHMARKS.md, "Robustness"): 20 concurrent 23 MB pushes with a
# wrong token, then 20 with the right one (10,000 commits of 2.3 KB each), against the release binary with
# an active integration on the emulator. Prints each batch's wall time, the server's peak RSS (VmHWM) and
# its RSS afterwards. First, one push of that size alone: what the largest accepted body costs while handled.
# Environment: BENCH_BIN=DIR uses the binaries in DIR; ROBUSTNESS_SENDERS (20) and ROBUSTNESS_ROUNDS (3)
# shorten it; ROBUSTNESS_COMMITS (10000) sets the size of the push.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else swift build -c release --scratch-path .build-release >/dev/null; bin=.build-release/release; fi
concurrent=${ROBUSTNESS_SENDERS:-20}
rounds=${ROBUSTNESS_ROUNDS:-3}
. benchmarks/lib.sh
jira=$(start jira "$bin/jira-emulator" --port 0 --deployment server --seed)
port=$(start bridge env JIRA_BRIDGE_WEBHOOK_SECRET=bench JIRA_BRIDGE_LOG_LEVEL=warning "$bin/jira-bridge" serve --port 0 --data-dir "$work/data" --allow-local-requests)
pid=$(cat "$work/bridge.pid")
token=$(cat "$work/data/admin-token")
curl -sf -X POST "http://127.0.0.1:$port/api/v4/projects" -H "PRIVATE-TOKEN: $token" -H 'Content-Type: application/json' \
  -d '{"id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop"}' >/dev/null
curl -sf -X PUT "http://127.0.0.1:$port/api/v4/projects/42/integrations/jira" -H "PRIVATE-TOKEN: $token" -H 'Content-Type: application/json' \
  -d "{\"active\": true, \"url\": \"http://127.0.0.1:$jira\", \"username\": \"jira-bot\", \"password\": \"secret-token\"}" >/dev/null
rss() { awk '/VmRSS/ {printf "%.0f MB", $2/1024}' /proc/$pid/status; }
hwm() { awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$pid/status; }
echo "idle: RSS $(rss)"
python3 - "$work/body.json" "${ROBUSTNESS_COMMITS:-10000}" <<'PY'
import json, sys
commits = [{"id": f"{i:040x}", "message": f"Change {i} for PROJ-{i % 3 + 1}\n\n" + "x" * 2300, "author": {"name": "A", "email": "a@example.com"}}
           for i in range(1, int(sys.argv[2]) + 1)]
doc = {"ref": "refs/heads/feature", "user_name": "A", "user_username": "a", "after": "1" * 40,
       "project": {"id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop", "default_branch": "main"},
       "commits": commits}
open(sys.argv[1], "w").write(json.dumps(doc))
PY
size=$(stat -c %s "$work/body.json")
echo "body: $(awk -v s="$size" 'BEGIN {printf "%.1f MB", s/1048576}')"
idle=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/webhooks/gitlab" -H 'X-Gitlab-Event: Push Hook' \
    -H "X-Gitlab-Token: bench" -H 'Content-Type: application/json' -H "Idempotency-Key: alone" --data-binary @"$work/body.json")
peak=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
echo "== one push alone: $code; peak RSS $((peak / 1024)) MB, $(( (peak - idle) / 1024 )) MB above idle: $(awk -v p="$peak" -v i="$idle" -v s="$size" 'BEGIN {printf "%.1f", (p - i) * 1024 / s}') times the body"
batch() {  # token, round
    local t0 t1 key="$1-${2:-0}"
    t0=$(date +%s.%N)
    local senders=()
    for i in $(seq 1 "$concurrent"); do
        curl -s -o /dev/null -w '%{http_code}\n' -X POST "http://127.0.0.1:$port/webhooks/gitlab" -H 'X-Gitlab-Event: Push Hook' \
            -H "X-Gitlab-Token: $1" -H 'Content-Type: application/json' -H "Idempotency-Key: $key-$i" --data-binary @"$work/body.json" >> "$work/codes-$key" &
        senders+=($!)
    done
    wait "${senders[@]}" || true
    cp "$work/codes-$key" "$work/codes"
    t1=$(date +%s.%N)
    echo "answers: $(sort "$work/codes" | uniq -c | tr '\n' ' ')in $(python3 -c "print(f'{$t1 - $t0:.1f} s')")"
}
echo "== $concurrent concurrent pushes of that size, wrong token"
batch wrong
echo "peak RSS $(hwm), RSS after $(rss)"
for round in $(seq 1 "$rounds"); do
    echo "== $concurrent concurrent pushes of that size, right token (round $round)"
    batch "bench" "$round"
    echo "peak RSS $(hwm), RSS after $(rss)"
done
sleep "${ROBUSTNESS_SETTLE:-5}"
echo "RSS ${ROBUSTNESS_SETTLE:-5} s later: $(rss); events: $(sqlite3 "$work/data/jira-bridge.sqlite" 'select count(*) from events')"
