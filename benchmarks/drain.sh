#!/usr/bin/env bash
# Intake and drain of a burst (BENCHMARKS.md, "The shell: PostgreSQL through PostgresClient"): the release jira-bridge
# on SQLite or PostgreSQL with one active integration on the emulator. N pushes (default 1000), each one commit
# that mentions one of 200 issues, are sent by 16 clients at once; then the time until the queue is empty is
# measured (each push makes two deliveries, a comment and a remote link: 2N deliveries).
#   benchmarks/drain.sh [sqlite|postgres] [N]
# Environment: BENCH_BIN=DIR uses the binaries in DIR instead of building .build-release (to pair two builds).
# Prints: the burst's intake (webhooks/s), the drain (deliveries/s, from the first webhook to an empty queue), and
# the mean time of a claim and of a Jira request (the server's histograms).
# On PostgreSQL also the statements the server ran from the first webhook to the empty queue (pg_stat_statements):
# per webhook (its intake, planning and two deliveries, with the idle polls and the metrics scrapes of those
# seconds; BENCH_COUNT_STATEMENTS=0 runs without pg_stat_statements, whose own cost is then left out) and the
# most called ones (BENCH_TOP_STATEMENTS, default 8; BENCH_ORDER=time: the most costly) with their calls
# and server time: the round trips issue 26 counts.
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:-postgres}
n=${2:-1000}
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else swift build -c release --scratch-path .build-release >/dev/null; bin=.build-release/release; fi
. benchmarks/lib.sh
admin=bench-admin-token-0123456789abcdef
PG_STAT_STATEMENTS=${BENCH_COUNT_STATEMENTS:-1} database_url "$store" drain
jira=$(start jira "$bin/jira-emulator" --port 0 --deployment server)
port=$(start bridge env JIRA_BRIDGE_WEBHOOK_SECRET=bench-secret JIRA_BRIDGE_LOG_LEVEL=warning JIRA_BRIDGE_ADMIN_TOKEN="$admin" \
    JIRA_BRIDGE_SECRET_KEY="$(head -c 32 /dev/urandom | base64)" \
    "$bin/jira-bridge" serve --port 0 --data-dir "$work/data" --database-url "$url" --allow-local-requests)
python3 - "$port" "$jira" "$admin" "$n" "$url" <<'PY'
import concurrent.futures, json, os, subprocess, sys, time, urllib.request
port, jira, admin, n, url = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def psql(sql):
    return subprocess.run(["/usr/lib/postgresql/15/bin/psql", url, "-X", "-q", "-A", "-t", "-c", sql], check=True,
                          capture_output=True, text=True).stdout.strip()
postgres = url.startswith("postgres")
counting = postgres and os.environ.get("BENCH_COUNT_STATEMENTS", "1") == "1"
top = int(os.environ.get("BENCH_TOP_STATEMENTS", "8"))
bridge = f"http://127.0.0.1:{port}"
def call(url, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read()
for i in range(200):
    call(f"http://127.0.0.1:{jira}/_emulator/issues", "POST", {"project": "PROJ", "summary": f"issue {i}"})
auth = {"PRIVATE-TOKEN": admin}
call(f"{bridge}/api/v4/projects", "POST", {"id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop"}, auth)
call(f"{bridge}/api/v4/projects/42/integrations/jira", "PUT",
     {"active": True, "url": f"http://127.0.0.1:{jira}", "username": "jira-bot", "password": "secret-token"}, auth)
def push(i):
    sha = f"{i + 1:040x}"
    body = {"object_kind": "push", "ref": "refs/heads/feature", "before": "0" * 40, "after": sha, "user_name": "J", "user_username": "j",
            "project_id": 42, "project": {"id": 42, "name": "Shop", "namespace": "Acme", "path_with_namespace": "acme/shop",
                                          "web_url": "https://gitlab.example.com/acme/shop", "default_branch": "main"},
            "commits": [{"id": sha, "message": f"Change {i} for PROJ-{i % 200 + 1}", "url": f"https://gitlab.example.com/acme/shop/-/commit/{sha}",
                         "author": {"name": "J", "email": "j@example.com"}}]}
    return call(f"{bridge}/webhooks/gitlab", "POST", body, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "bench-secret",
                                                            "X-Gitlab-Event-UUID": f"drain-{i}"})[0]
def depth():
    text = call(f"{bridge}/metrics")[1].decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("jira_bridge_queue_depth"))
if counting:
    psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    psql("SELECT pg_stat_statements_reset()")
began = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    statuses = list(pool.map(push, range(n)))
sent = time.monotonic() - began
assert all(s == 202 for s in statuses), statuses
while depth() > 0:
    time.sleep(0.05)
done = time.monotonic() - began
# Where a delivery's time went, from the server's own histograms: its claim and its Jira requests (mean).
def mean(metric):
    text = call(f"{bridge}/metrics")[1].decode()
    total = sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(metric + "_seconds_sum"))
    count = sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(metric + "_seconds_count"))
    return 1000 * total / count if count else 0
claim, jira_request = mean("jira_bridge_queue_claim_duration"), mean("jira_bridge_jira_request_duration")
if counting:
    mine = "dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%'"
    total = int(psql(f"SELECT COALESCE(sum(calls), 0) FROM pg_stat_statements WHERE {mine}"))
    top = psql(f"SELECT calls || ' ' || round(total_exec_time) || ' ms ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 90) FROM pg_stat_statements WHERE {mine} "
               f"ORDER BY {'total_exec_time' if os.environ.get('BENCH_ORDER') == 'time' else 'calls'} DESC LIMIT {top}")
print(f"intake: {n} webhooks in {sent:.2f} s: {n / sent:.0f} webhooks/s (16 clients)")
print(f"drain: {2 * n} deliveries done {done:.2f} s after the first webhook: {2 * n / done:.0f} deliveries/s")
print(f"means: a claim {claim:.2f} ms, a Jira request {jira_request:.2f} ms")
if counting:
    print(f"statements: {total} in all, {total / n:.1f} per webhook (intake, planning and its 2 deliveries); most called:")
    for line in top.splitlines():
        print(f"  {line}")
PY
