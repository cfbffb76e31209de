#!/usr/bin/env bash
# The Development panel's drain (BENCHMARKS.md, "Development panel"): the release jira-bridge on SQLite with one
# integration that sends only development information (comments and links off), to the emulator as Jira Cloud
# and Atlassian's gateway, answering every development information request 5 ms late. N pushes (default 1000)
# to one repository, each one commit that names one of 200 issues, are sent by 16 clients at once; then the
# time until the queue is empty is measured.
#   benchmarks/devinfo.sh [N]
# Environment: BENCH_BIN=DIR uses the binaries in DIR instead of building .build-release; BENCH_DELAY_MS (5)
# the gateway's delay.
# Prints: the intake (webhooks/s), the drain (commits/s, and the entities sent per second: each push's commit,
# and the branch once per request, since a request carries the branch's newest state only), and the bulk
# requests the gateway received.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else swift build -c release --scratch-path .build-release >/dev/null; bin=.build-release/release; fi
. benchmarks/lib.sh
admin=bench-admin-token-0123456789abcdef
jira=$(start jira "$bin/jira-emulator" --port 0 --deployment cloud)
port=$(start bridge env JIRA_BRIDGE_WEBHOOK_SECRET=bench-secret JIRA_BRIDGE_LOG_LEVEL=warning JIRA_BRIDGE_ADMIN_TOKEN="$admin" \
    JIRA_BRIDGE_SECRET_KEY="$(head -c 32 /dev/urandom | base64)" \
    "$bin/jira-bridge" serve --port 0 --data-dir "$work/data" --database-url "sqlite:$work/devinfo.sqlite" --allow-local-requests \
    --atlassian-api-url "http://127.0.0.1:$jira")
python3 - "$port" "$jira" "$admin" "$n" "${BENCH_DELAY_MS:-5}" <<'PY'
import concurrent.futures, json, sys, time, urllib.request
port, jira, admin, n, delay = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
bridge = f"http://127.0.0.1:{port}"
def call(url, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read()
for i in range(200):
    call(f"http://127.0.0.1:{jira}/_emulator/issues", "POST", {"project": "PROJ", "summary": f"issue {i}"})
call(f"http://127.0.0.1:{jira}/_emulator/faults", "POST", {"path": "/jira/devinfo/", "delay_ms": delay, "times": 1_000_000})
auth = {"PRIVATE-TOKEN": admin}
call(f"{bridge}/api/v4/projects", "POST", {"id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop"}, auth)
call(f"{bridge}/api/v4/projects/42/integrations/jira", "PUT",
     {"active": True, "url": f"http://127.0.0.1:{jira}", "username": "jira-bot@example.com", "password": "secret-token",
      "commit_events": False, "development_panel_enabled": True, "jira_oauth_client_id": "jira-bridge-client",
      "jira_oauth_client_secret": "oauth-client-secret"}, auth)
def push(i):
    sha = f"{i + 1:040x}"
    body = {"object_kind": "push", "ref": "refs/heads/feature", "before": "0" * 39 + "1", "after": sha, "user_name": "J", "user_username": "j",
            "project_id": 42, "project": {"id": 42, "name": "Shop", "namespace": "Acme", "path_with_namespace": "acme/shop",
                                          "web_url": "https://gitlab.example.com/acme/shop", "default_branch": "main"},
            "commits": [{"id": sha, "message": f"Change {i} for PROJ-{i % 200 + 1}", "timestamp": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z",
                         "url": f"https://gitlab.example.com/acme/shop/-/commit/{sha}", "author": {"name": "J", "email": "j@example.com"},
                         "added": [], "modified": ["README.md"], "removed": []}]}
    return call(f"{bridge}/webhooks/gitlab", "POST", body, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "bench-secret",
                                                            "X-Gitlab-Event-UUID": f"devinfo-{i}"})[0]
def depth():
    text = call(f"{bridge}/metrics")[1].decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("jira_bridge_queue_depth"))
began = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    statuses = list(pool.map(push, range(n)))
sent = time.monotonic() - began
assert all(s == 202 for s in statuses), statuses
while depth() > 0:
    time.sleep(0.05)
done = time.monotonic() - began
requests = json.loads(call(f"http://127.0.0.1:{jira}/_emulator/requests")[1])
bulk = [r for r in requests if r["path"].endswith("/bulk")]
entities = sum(len(repo.get(t, [])) for r in bulk for repo in json.loads(r["body"])["repositories"] for t in ("commits", "branches", "pullRequests"))
commits = len(json.loads(call(f"http://127.0.0.1:{jira}/_emulator/development/PROJ-1")[1]).get("commits", []))
print(f"intake: {n} webhooks in {sent:.2f} s: {n / sent:.0f} webhooks/s (16 clients)")
print(f"drain: {n} pushes done {done:.2f} s after the first webhook: {n / done:.0f} commits/s, {entities / done:.0f} entities/s sent")
print(f"gateway: {len(bulk)} bulk requests ({delay} ms each), {entities} entities sent, {entities / max(1, len(bulk)):.1f} per request; PROJ-1 shows {commits} commits")
PY
