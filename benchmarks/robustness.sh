#!/usr/bin/env bash
# Memory and time for the largest webhooks (BENCHMARKS.md, "Robustness"): 20 concurrent 23 MB pushes with a
# wrong token, then 20 with the right one (10,000 commits of 2.3 KB each), against the release binary with
# an active integration on the emulator. Prints each batch's wall time, the server's peak RSS (VmHWM) and
# its RSS afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --scratch-path .build-release >/dev/null
bin=.build-release/release
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
python3 - "$work/body.json" <<'PY'
import json, sys
commits = [{"id": f"{i:040x}", "message": f"Change {i} for PROJ-{i % 3 + 1}\n\n" + "x" * 2300, "author": {"name": "A", "email": "a@example.com"}}
           for i in range(1, 10001)]
doc = {"ref": "refs/heads/feature", "user_name": "A", "user_username": "a", "after": "1" * 40,
       "project": {"id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop", "default_branch": "main"},
       "commits": commits}
open(sys.argv[1], "w").write(json.dumps(doc))
PY
echo "body: $(stat -c %s "$work/body.json" | awk '{printf "%.1f MB", $1/1048576}')"
batch() {  # token, round
    local t0 t1 key="$1-${2:-0}"
    t0=$(date +%s.%N)
    local senders=()
    for i in $(seq 1 20); do
        curl -s -o /dev/null -w '%{http_code}\n' -X POST "http://127.0.0.1:$port/webhooks/gitlab" -H 'X-Gitlab-Event: Push Hook' \
            -H "X-Gitlab-Token: $1" -H 'Content-Type: application/json' -H "Idempotency-Key: $key-$i" --data-binary @"$work/body.json" >> "$work/codes-$key" &
        senders+=($!)
    done
    wait "${senders[@]}" || true
    cp "$work/codes-$key" "$work/codes"
    t1=$(date +%s.%N)
    echo "answers: $(sort "$work/codes" | uniq -c | tr '\n' ' ')in $(python3 -c "print(f'{$t1 - $t0:.1f} s')")"
}
echo "== 20 concurrent 23 MB pushes, wrong token"
batch wrong
echo "peak RSS $(hwm), RSS after $(rss)"
for round in 1 2 3; do
    echo "== 20 concurrent 23 MB pushes, right token (round $round)"
    batch "bench" "$round"
    echo "peak RSS $(hwm), RSS after $(rss)"
done
sleep 5
echo "RSS 5 s later: $(rss); events: $(sqlite3 "$work/data/jira-bridge.sqlite" 'select count(*) from events')"
