#!/usr/bin/env bash
# Memory and time for the largest webhooks (BENCHMARKS.md, "Robustness"): 20 concurrent 23 MB pushes with a
# wrong token, then 20 with the right one (10,000 commits of 2.3 KB each), against the release binary with
# an active integration on the emulator. Prints each batch's wall time, the server's peak RSS (VmHWM) and
# its RSS afterwards. First, one push of that size alone: what the largest accepted body costs while handled.
# Environment: BENCH_BIN=DIR uses the binaries in DIR; ROBUSTNESS_SENDERS (20) and ROBUSTNESS_ROUNDS (3)
# shorten it; ROBUSTNESS_COMMITS (10000) sets the size of the push.
# Last, the intake under attack (issue 24): the latency of a valid GitLab webhook while 1,000 connections
# never finish their headers, sockets announce 25 MB on GitHub's route and send nothing (3 naming a registered
# repository, 3 naming none), chunked bodies trickle a byte a second, and 200 unsigned 24 MB bodies are in
# flight at once, each case alone and then all together. ROBUSTNESS_IDLE (1000), ROBUSTNESS_FLOOD (200) and
# ROBUSTNESS_PROBES (20) shorten it.
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
curl -sf -X POST "http://127.0.0.1:$port/api/v4/projects" -H "PRIVATE-TOKEN: $token" -H 'Content-Type: application/json' \
  -d '{"forge": "github", "id": 7, "path_with_namespace": "octo/app", "web_url": "https://github.com/octo/app"}' >/dev/null
curl -sf -X PUT "http://127.0.0.1:$port/api/v4/projects/github:7" -H "PRIVATE-TOKEN: $token" -H 'Content-Type: application/json' \
  -d '{"webhook_secret": "gh-secret"}' >/dev/null
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

echo "== the intake under attack: a valid GitLab webhook's latency (the goal: answered 202 within 1 s)"
python3 - "$port" "${ROBUSTNESS_IDLE:-1000}" "${ROBUSTNESS_FLOOD:-200}" "${ROBUSTNESS_PROBES:-20}" <<'PY'
import json, socket, sys, threading, time, http.client
port, idle_n, flood_n, probes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def conn():
    s = socket.create_connection(("127.0.0.1", port)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1); return s
push = json.dumps({"ref": "refs/heads/feature", "user_name": "A", "user_username": "a", "after": "2" * 40,
                   "project": {"id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop", "default_branch": "main"},
                   "commits": [{"id": "3" * 40, "message": "PROJ-1 change", "author": {"name": "A", "email": "a@example.com"}}]})
def probe(tag):
    times, codes = [], {}
    for i in range(probes):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        t0 = time.monotonic()
        try:
            c.request("POST", "/webhooks/gitlab", push, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "bench", "Content-Type": "application/json",
                                                          "Idempotency-Key": f"probe-{tag}-{i}"})
            code = c.getresponse().status
        except Exception as e:
            code = type(e).__name__
        times.append(time.monotonic() - t0); codes[code] = codes.get(code, 0) + 1; c.close()
        time.sleep(0.05)
    times.sort()
    print(f"{tag:<44} answers {codes}  p50 {times[len(times)//2]*1000:7.1f} ms  max {times[-1]*1000:7.1f} ms", flush=True)
stop = threading.Event(); held = []
def idle():
    for _ in range(idle_n):
        s = conn(); s.sendall(b"POST /webhooks/gitlab HTTP/1.1\r\nHost: x\r\nX-Gitlab-Tok"); held.append(s)
def announce():
    for target in (b"X-GitHub-Hook-Installation-Target-Type: repository\r\nX-GitHub-Hook-Installation-Target-ID: 7\r\n", b""):
        for _ in range(3):
            s = conn(); s.sendall(b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=00\r\n" + target + b"Content-Length: 25000000\r\n\r\n"); held.append(s)
def trickle():
    socks = []
    for route, sig in ((b"github", b"X-Hub-Signature-256: sha256=00\r\nX-GitHub-Hook-Installation-Target-Type: repository\r\nX-GitHub-Hook-Installation-Target-ID: 7"), (b"gitea", b"X-Gitea-Signature: 00")):
        for _ in range(2):
            s = conn(); s.sendall(b"POST /webhooks/" + route + b" HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Gitea-Event: push\r\n" + sig + b"\r\nTransfer-Encoding: chunked\r\n\r\n"); socks.append(s)
    def run():
        while not stop.is_set():
            for s in socks:
                try: s.sendall(b"1\r\n \r\n")
                except OSError: pass
            time.sleep(1)
    threading.Thread(target=run, daemon=True).start()
chunk = b"100000\r\n" + b"a" * 0x100000 + b"\r\n"
def flooder(named):
    head = b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=00\r\n"
    if named: head += b"X-GitHub-Hook-Installation-Target-Type: repository\r\nX-GitHub-Hook-Installation-Target-ID: 7\r\n"
    head += b"Transfer-Encoding: chunked\r\n\r\n"
    while not stop.is_set():
        try:
            s = conn(); s.sendall(head)
            for _ in range(24):
                if stop.is_set(): break
                s.sendall(chunk)
            s.sendall(b"0\r\n\r\n"); s.recv(100)
        except OSError: pass
        finally:
            try: s.close()
            except Exception: pass
def flood():
    for i in range(flood_n): threading.Thread(target=flooder, args=(i % 2 == 0,), daemon=True).start()
probe("quiet")
idle(); probe(f"{idle_n} half-sent headers")
announce(); probe("+ 6 sockets announcing 25 MB on /webhooks/github")
trickle(); probe("+ 4 chunked bodies trickling a byte a second")
flood(); time.sleep(1); probe(f"+ {flood_n} unsigned 24 MB bodies in flight")
stop.set()
for s in held: s.close()
PY
