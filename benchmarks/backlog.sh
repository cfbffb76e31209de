#!/usr/bin/env bash
# A backlog on one Jira site must not delay another site's deliveries (BENCHMARKS.md, "Backlog fairness").
# Starts the release jira-bridge and two release emulators (two Jira sites). Site A answers every request
# after 1 s, so its deliveries pile up; then one push for a project on site B is sent and the time until
# that delivery is done (it needs two Jira requests on site B) is measured.
#   benchmarks/backlog.sh [BACKLOG]     (default 50000 deliveries on site A)
# Environment: BENCH_BIN=DIR uses the binaries in DIR instead of building .build-release.
set -euo pipefail
cd "$(dirname "$0")/.."
backlog=${1:-50000}
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else swift build -c release --scratch-path .build-release >/dev/null; bin=.build-release/release; fi
. benchmarks/lib.sh
a=$(start jira-a "$bin/jira-emulator" --port 0 --deployment server)
b=$(start jira-b "$bin/jira-emulator" --port 0 --deployment server)
bridge=$(start bridge env JIRA_BRIDGE_WEBHOOK_SECRET=bench JIRA_BRIDGE_LOG_LEVEL=warning "$bin/jira-bridge" serve --port 0 --data-dir "$work/data" --allow-local-requests)
bridge_pid=$(cat "$work/bridge.pid")
token=$(cat "$work/data/admin-token")
api() { curl -sf -H "PRIVATE-TOKEN: $token" -H 'Content-Type: application/json' "$@"; }
python3 - "$a" "$b" <<'PY'
import json, sys, urllib.request
for port in sys.argv[1:]:
    def post(path, doc):
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(doc).encode(), {"Content-Type": "application/json"}))
    for i in range(50):
        post("/_emulator/issues", {"project": "PROJ", "summary": f"issue {i}"})
PY
for p in 1:a:$a 2:b:$b; do
    IFS=: read -r id name port <<< "$p"
    api -X POST "http://127.0.0.1:$bridge/api/v4/projects" -d "{\"id\": $id, \"path_with_namespace\": \"acme/$name\", \"web_url\": \"https://gitlab.example.com/acme/$name\"}" >/dev/null
    api -X PUT "http://127.0.0.1:$bridge/api/v4/projects/$id/integrations/jira" -d "{\"active\": true, \"url\": \"http://127.0.0.1:$port\", \"username\": \"jira-bot\", \"password\": \"secret-token\", \"comment_on_event_enabled\": false}" >/dev/null
done
# Site A is slow: every request waits 1 s.
curl -sf -X POST "http://127.0.0.1:$a/_emulator/faults" -d '{"path": "/rest/", "delay_ms": 1000, "times": 1000000000}' >/dev/null

echo "== filling site A's queue with $backlog deliveries"
python3 - "$bridge" "$backlog" <<'PY'
import json, sys, urllib.request
port, backlog = int(sys.argv[1]), int(sys.argv[2])
n = 0
push = 0
while n < backlog:
    commits = []
    for c in range(min(100, backlog - n)):
        sha = f"{push:020x}{c:020x}"
        commits.append({"id": sha, "message": f"Change {n} for PROJ-{n % 50 + 1}", "author": {"name": "A", "email": "a@example.com"}})
        n += 1
    doc = {"ref": "refs/heads/feature", "user_name": "A", "user_username": "a", "after": "1" * 40,
           "project": {"id": 1, "path_with_namespace": "acme/a", "web_url": "https://gitlab.example.com/acme/a", "default_branch": "main"},
           "commits": commits}
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/gitlab", json.dumps(doc).encode(),
                           {"Content-Type": "application/json", "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "bench"}))
    push += 1
PY
db="$work/data/jira-bridge.sqlite"
for _ in $(seq 1 600); do
    planned=$(sqlite3 "$db" "select count(*) from deliveries where site like '%:$a'")
    [ "$planned" -ge "$backlog" ] && break
    sleep 0.5
done
echo "pending on site A: $(sqlite3 "$db" "select count(*) from deliveries where status in ('pending','running') and site like '%:$a'")"
echo "server RSS: $(grep VmRSS /proc/$bridge_pid/status | awk '{print $2/1024 " MB"}')"

echo "== one push for site B"
t0=$(date +%s.%N)
curl -sf -X POST "http://127.0.0.1:$bridge/webhooks/gitlab" -H 'X-Gitlab-Event: Push Hook' -H 'X-Gitlab-Token: bench' -H 'Content-Type: application/json' \
  -d '{"ref": "refs/heads/feature", "user_name": "B", "user_username": "b", "after": "2222222222222222222222222222222222222222",
       "project": {"id": 2, "path_with_namespace": "acme/b", "web_url": "https://gitlab.example.com/acme/b", "default_branch": "main"},
       "commits": [{"id": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "message": "Fix PROJ-1", "author": {"name": "B", "email": "b@example.com"}}]}' >/dev/null
for _ in $(seq 1 3000); do
    done_=$(sqlite3 "$db" "select count(*) from deliveries where project_id = 2 and status = 'succeeded'")
    if [ "$done_" -ge 1 ]; then break; fi
    sleep 0.01
done
t1=$(date +%s.%N)
python3 -c "print(f'site B: webhook to delivery done (2 Jira requests) in {($t1 - $t0)*1000:.0f} ms')"
echo "still pending on site A: $(sqlite3 "$db" "select count(*) from deliveries where status in ('pending','running') and site like '%:$a'")"
