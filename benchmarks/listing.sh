#!/usr/bin/env bash
# Lists on an instance with many projects (BENCHMARKS.md, "Lists of many projects", issue 24): registers
# LISTING_PROJECTS (5000) projects through the API, then times the API's first page of projects, a page deep in
# the list, the token list, and the signed-in home page (median of 20 each, with the answer's size), against the
# release binary. Environment: BENCH_BIN=DIR uses the binaries in DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${BENCH_BIN:-}" ]; then bin=$BENCH_BIN; else swift build -c release --scratch-path .build-release >/dev/null; bin=.build-release/release; fi
. benchmarks/lib.sh
port=$(start bridge env JIRA_BRIDGE_LOG_LEVEL=warning "$bin/jira-bridge" serve --port 0 --data-dir "$work/data")
token=$(cat "$work/data/admin-token")
python3 - "$port" "$token" "${LISTING_PROJECTS:-5000}" <<'PY'
import http.client, re, statistics, sys, time, urllib.parse
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
def call(method, path, body=None, headers={}):
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read(), r.getheaders()
admin = {"PRIVATE-TOKEN": token, "Content-Type": "application/json"}
t0 = time.time()
for i in range(n):
    status, _, _ = call("POST", "/api/v4/projects", f'{{"id": {1000 + i}, "path_with_namespace": "team{i % 50}/p{i}"}}', admin)
    assert status == 201, status
print(f"registered {n} projects in {time.time() - t0:.1f} s")
status, page, headers = call("GET", "/")
signin_cookie = [v for k, v in headers if k.lower() == "set-cookie"][0].split(";")[0]
csrf = re.search(rb'name="_csrf" value="([^"]+)"', page).group(1).decode()
status, _, headers = call("POST", "/sign_in", urllib.parse.urlencode({"_csrf": csrf, "token": token}),
                          {"Content-Type": "application/x-www-form-urlencoded", "Cookie": signin_cookie})
session = [v for k, v in headers if k.lower() == "set-cookie" and v.startswith("jira_bridge_session=")][0].split(";")[0]
def measure(label, path, headers):
    times, size = [], 0
    for _ in range(20):
        t = time.perf_counter()
        status, body, _ = call("GET", path, headers=headers)
        times.append((time.perf_counter() - t) * 1000)
        assert status == 200, (path, status)
        size = len(body)
    print(f"{label:<44} median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms  {size / 1024:8.1f} KB")
measure("GET /api/v4/projects (first page of 20)", "/api/v4/projects", admin)
measure("GET /api/v4/projects?per_page=100&page=40", "/api/v4/projects?per_page=100&page=40", admin)
measure("GET /api/v4/tokens", "/api/v4/tokens", admin)
measure("home page (50 projects of the list)", "/", {"Cookie": session})
measure("home page, page 80", "/?page=80", {"Cookie": session})
PY
