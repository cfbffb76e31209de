#!/usr/bin/env python3
"""From a webhook to the first Jira request (BENCHMARKS.md, "From webhook to Jira").

Starts the release jira-emulator and jira-bridge (SQLite, or --database-url), one project with an active
integration. Probes are GitLab pushes, each with a new commit that mentions an issue of its own (PROJ-n),
sent one at a time at --probe-rate per second. The emulator stamps every request with its arrival time; a
probe's latency is from just before its webhook was sent to the arrival of the first Jira request for its
issue. Client and servers share the machine's clock.

With --rate N, background pushes arrive at N per second for the whole run from --senders threads on
keep-alive connections: GitLab's push example mentioning PROJ-1 in one fixed commit, so each is stored and
planned (intake load) and, being the same mention, plans no new Jira work.

    benchmarks/latency.py [--rate 0] [--seconds 10] [--probe-rate 20]
"""
import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN = "bench-admin-token-0123456789abcdef"
SECRET = "bench-secret"


def start(args, log):
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "JIRA_BRIDGE_LOG_LEVEL": "warning",
                                                                          "JIRA_BRIDGE_WEBHOOK_SECRET": SECRET, "JIRA_BRIDGE_ADMIN_TOKEN": ADMIN})
    for _ in range(200):
        time.sleep(0.05)
        with open(log.name) as f:
            m = re.search(r"listening on http://[0-9.]+:(\d+)", f.read())
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
    raise SystemExit(f"{args[0]} did not start: {open(log.name).read()[-2000:]}")


def call(port, method, path, doc=None, headers=None):
    data = None if doc is None else json.dumps(doc).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
        return json.loads(body) if body else None


def push(commit, message, project=42):
    return json.dumps({
        "object_kind": "push", "ref": "refs/heads/feature", "before": "0" * 40, "after": commit, "user_name": "Bench", "user_username": "bench",
        "project": {"id": project, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop", "default_branch": "main"},
        "commits": [{"id": commit, "message": message, "url": f"https://gitlab.example.com/acme/shop/-/commit/{commit}",
                     "author": {"name": "Bench", "email": "bench@example.com"}}]}).encode()


HOOK_HEADERS = {"Content-Type": "application/json", "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}


def background(port, rate, stop, counts, index):
    """Sends at `rate` per second until `stop` is set, on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = push("b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "Update Catalan translation for PROJ-1")
    interval = 1.0 / rate
    due = time.monotonic()
    sent = 0
    while not stop.is_set():
        headers = {**HOOK_HEADERS, "Idempotency-Key": f"bg-{index}-{sent}-{time.time_ns()}"}
        try:
            conn.request("POST", "/webhooks/gitlab", body, headers)
            r = conn.getresponse()
            r.read()
            counts[index] += 1 if r.status == 202 else 0
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent += 1
        due += interval
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        elif pause < -1:
            due = time.monotonic()  # more than a second behind: do not burst to catch up


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.environ.get("BENCH_BIN", ""), help="folder with the release binaries (default: build .build-release)")
    parser.add_argument("--rate", type=float, default=0, help="background webhooks per second (0: an idle server)")
    parser.add_argument("--senders", type=int, default=8, help="threads sending the background webhooks")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--probe-rate", type=float, default=20, help="probes per second")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    bin_dir = args.bin
    if not bin_dir:
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", ".build-release"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        bin_dir = os.path.join(ROOT, ".build-release", "release")
    work = tempfile.mkdtemp()
    procs = []
    try:
        jira, jira_port = start([os.path.join(bin_dir, "jira-emulator"), "--port", "0", "--deployment", "server", "--seed"],
                                open(os.path.join(work, "jira.log"), "w"))
        procs.append(jira)
        probes = int(args.seconds * args.probe_rate)
        for i in range(4, probes + 5):  # --seed makes PROJ-1 to PROJ-3; each probe mentions PROJ-4 and on
            call(jira_port, "POST", "/_emulator/issues", {"project": "PROJ", "summary": f"issue {i}"})
        serve = [os.path.join(bin_dir, "jira-bridge"), "serve", "--port", "0", "--data-dir", os.path.join(work, "data"), "--allow-local-requests"]
        if args.database_url:
            serve += ["--database-url", args.database_url]
        bridge, port = start(serve, open(os.path.join(work, "bridge.log"), "w"))
        procs.append(bridge)
        auth = {"PRIVATE-TOKEN": ADMIN}
        call(port, "POST", "/api/v4/projects", {"id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop"}, auth)
        call(port, "PUT", "/api/v4/projects/42/integrations/jira",
             {"active": True, "url": f"http://127.0.0.1:{jira_port}", "username": "jira-bot", "password": "secret-token"}, auth)

        stop = threading.Event()
        counts = [0] * args.senders
        senders = []
        if args.rate > 0:
            senders = [threading.Thread(target=background, args=(port, args.rate / args.senders, stop, counts, i), daemon=True)
                       for i in range(args.senders)]
            for t in senders:
                t.start()
            time.sleep(1)  # let the background load settle before the first probe
        began = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent = {}
        acks = []
        for n in range(probes):
            key = f"PROJ-{n + 4}"
            commit = f"{n + 1:040x}"  # not 0: forty zeros is no commit
            body = push(commit, f"Fix {key}: probe {n}")
            t0 = time.time()
            conn.request("POST", "/webhooks/gitlab", body, {**HOOK_HEADERS, "Idempotency-Key": f"probe-{n}-{time.time_ns()}"})
            r = conn.getresponse()
            r.read()
            acks.append((time.time() - t0) * 1000)
            if r.status == 202:
                sent[key] = t0
            next_at = began + (n + 1) / args.probe_rate
            time.sleep(max(0, next_at - time.monotonic()))
        background_seconds = time.monotonic() - began
        stop.set()
        for t in senders:
            t.join()
        time.sleep(3)
        requests = call(jira_port, "GET", "/_emulator/requests")
        first = {}
        for r in requests:
            m = re.match(r"/rest/api/2/issue/(PROJ-\d+)", r["path"])
            if m and m.group(1) in sent:
                first[m.group(1)] = min(first.get(m.group(1), r["receivedAt"]), r["receivedAt"])
        latencies = [(first[k] / 1e6 - t0) * 1000 for k, t0 in sent.items() if k in first]
        missing = len(sent) - len(latencies)
        if missing:
            print("probes without a Jira request:", sorted(k for k in sent if k not in first)[:10])
        load = f"{sum(counts) / (background_seconds + 1):.0f} background webhooks/s accepted" if args.rate > 0 else "idle server"
        print(f"== webhook to first Jira request, {load}, {len(sent)} probes ({missing} without a Jira request)")
        if latencies:
            print(f"latency: p50 {statistics.median(latencies):.1f} ms, p90 {percentile(latencies, 90):.1f} ms, "
                  f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms")
        print(f"webhook answer: p50 {statistics.median(acks):.1f} ms, p99 {percentile(acks, 99):.1f} ms")
        with open(f"/proc/{bridge.pid}/status") as f:
            status = f.read()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024
        peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) // 1024
        print(f"server RSS {rss} MB (peak {peak} MB)")
        if missing:
            sys.exit(1)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
