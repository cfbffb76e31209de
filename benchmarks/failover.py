"""Failover run for BENCHMARKS.md: three jira-bridge processes on one PostgreSQL database take 10,000 GitLab
push webhooks while one of them is killed with SIGKILL every 10 s (and started again at once). Senders act as
a forge does: a webhook that gets no 202 is sent again, to another process, with the same X-Gitlab-Event-UUID.

Reports lost events (acknowledged but without all their Jira effects; must be 0), duplicated Jira effects
(comments and remote links beyond one per commit; must be 0), the longest gap between two finished
deliveries while the run lasted, and the most Jira requests at once (the per-site limit is 4).

python3 benchmarks/failover.py --bin .build-release/release/jira-bridge --database-url postgres://... --jira http://127.0.0.1:PORT
"""
import argparse
import base64
import json
import os
import random
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
import urllib.error

PSQL = "/usr/lib/postgresql/15/bin/psql"
SECRET = "failover-secret"
ADMIN = "failover-admin-token-0123456789"
ISSUES = 100


def http(method, url, body=None, headers=None, timeout=10):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if isinstance(body, (dict, list)):
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def psql(url, sql):
    if url.startswith("sqlite:"):  # the same figures for one process on SQLite
        import sqlite3
        with sqlite3.connect(f"file:{url[len('sqlite:'):]}?mode=ro", uri=True, timeout=10) as db:
            return [[str(v) for v in row] for row in db.execute(sql).fetchall()]
    out = subprocess.run([PSQL, url, "-X", "-q", "-A", "-t", "-F", "\t", "-c", sql], capture_output=True, text=True, check=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


class Server:
    def __init__(self, args, key, index):
        self.log = tempfile.NamedTemporaryFile(prefix=f"failover-{index}-", suffix=".log", delete=False)
        env = {k: v for k, v in os.environ.items() if not k.startswith("JIRA_BRIDGE_")}
        env.update(JIRA_BRIDGE_WEBHOOK_SECRET=SECRET, JIRA_BRIDGE_SECRET_KEY=key, JIRA_BRIDGE_ADMIN_TOKEN=ADMIN,
                   JIRA_BRIDGE_DATABASE_URL=args.database_url, JIRA_BRIDGE_LOG_LEVEL="warning")
        self.proc = subprocess.Popen([args.bin, "serve", "--port", "0", "--data-dir", tempfile.mkdtemp(prefix="failover-"),
                                      "--allow-local-requests"], stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            m = re.search(r"listening on http://[\d.]+:(\d+)", open(self.log.name).read())
            if m:
                self.url = f"http://127.0.0.1:{m.group(1)}"
                return
            time.sleep(0.02)
        raise RuntimeError(open(self.log.name).read())


def payload(n, keys):
    sha = f"{n + 1:040x}"
    key = keys[n % len(keys)]
    return json.dumps({
        "object_kind": "push", "ref": "refs/heads/feature", "before": "0" * 40, "after": sha, "project_id": 42,
        "user_name": "John Smith", "user_username": "jsmith",
        "project": {"id": 42, "name": "Shop", "namespace": "Acme", "path_with_namespace": "acme/shop",
                    "web_url": "https://gitlab.example.com/acme/shop", "default_branch": "main"},
        "commits": [{"id": sha, "message": f"Change {n} for {key}", "url": f"https://gitlab.example.com/acme/shop/-/commit/{sha}",
                     "author": {"name": "John Smith", "email": "john@example.com"}}]}).encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--jira", required=True)
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0, help="webhooks per second offered")
    parser.add_argument("--kill-every", type=float, default=10.0, help="seconds between kills; 0 kills none")
    parser.add_argument("--processes", type=int, default=3)
    args = parser.parse_args()
    key = base64.b64encode(os.urandom(32)).decode()

    keys = [json.loads(http("POST", args.jira + "/_emulator/issues", {"project": "PROJ", "summary": f"failover {i}"})[1])["key"]
            for i in range(ISSUES)]
    http("DELETE", args.jira + "/_emulator/concurrency")
    servers = [Server(args, key, i) for i in range(args.processes)]
    lock = threading.Lock()
    status, body = http("POST", servers[0].url + "/api/v4/projects", {"id": 42, "path_with_namespace": "acme/shop",
                                                                       "web_url": "https://gitlab.example.com/acme/shop"},
                        headers={"PRIVATE-TOKEN": ADMIN})
    assert status == 201, body
    status, body = http("PUT", servers[0].url + "/api/v4/projects/42/integrations/jira",
                        {"active": True, "url": args.jira, "username": "jira-bot", "password": "secret-token"}, headers={"PRIVATE-TOKEN": ADMIN})
    assert status == 200, body

    acknowledged = {}
    resent = [0]
    next_n = [0]
    started = time.time()
    done = threading.Event()

    def sender():
        while True:
            with lock:
                n = next_n[0]
                if n >= args.total:
                    return
                next_n[0] += 1
            due = started + n / args.rate
            if due > time.time():
                time.sleep(due - time.time())
            body = payload(n, keys)
            while True:
                with lock:
                    url = random.choice(servers).url
                try:
                    status, answer = http("POST", url + "/webhooks/gitlab", body, headers={
                        "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET, "X-Gitlab-Event-UUID": f"failover-{n}",
                        "Content-Type": "application/json"})
                except OSError:
                    status = None
                if status == 202:
                    with lock:
                        acknowledged[n] = json.loads(answer)["event_id"]
                    break
                with lock:
                    resent[0] += 1
                time.sleep(0.05)

    kills = []

    def killer():
        victim = 0
        while args.kill_every > 0 and not done.wait(args.kill_every):
            with lock:
                server = servers[victim]
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait()
            kills.append(time.time() - started)
            replacement = Server(args, key, victim)
            with lock:
                servers[victim] = replacement
            victim = (victim + 1) % args.processes

    threads = [threading.Thread(target=sender) for _ in range(32)]
    k = threading.Thread(target=killer)
    k.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent_in = time.time() - started
    # Keep killing while the backlog drains, then stop.
    deadline = time.time() + 900
    while time.time() < deadline:
        open_work = psql(args.database_url, "SELECT (SELECT count(*) FROM deliveries WHERE status IN ('pending', 'running')) + "
                                            "(SELECT count(*) FROM events WHERE status IN ('pending', 'planning'))")[0][0]
        if open_work == "0":
            break
        time.sleep(0.5)
    drained_in = time.time() - started
    done.set()
    k.join()

    events = int(psql(args.database_url, "SELECT count(*) FROM events")[0][0])
    ids = set(acknowledged.values())
    stored = {row[0] for row in psql(args.database_url, "SELECT id FROM events WHERE status = 'planned'")}
    statuses = dict(psql(args.database_url, "SELECT status, count(*) FROM deliveries GROUP BY status"))
    unfinished = psql(args.database_url, "SELECT count(DISTINCT event_id) FROM deliveries WHERE status NOT IN ('succeeded', 'skipped')")[0][0]
    lost = len(ids - stored) + int(unfinished)
    comments, links = [], []
    for k_ in keys:
        issue = json.loads(http("GET", f"{args.jira}/_emulator/issues/{k_}")[1])
        comments += [c["body"] for c in issue["comments"]]
        links += [l["globalId"] for l in issue["remote_links"]]
    duplicated = (len(comments) - len(set(comments))) + (len(links) - len(set(links)))
    finished = sorted(int(r[0]) for r in psql(args.database_url, "SELECT updated_at FROM deliveries WHERE status IN ('succeeded', 'skipped') ORDER BY updated_at"))
    gap = max((b - a for a, b in zip(finished, finished[1:])), default=0)
    concurrency = json.loads(http("GET", args.jira + "/_emulator/concurrency")[1])
    print(f"webhooks acknowledged: {len(acknowledged)} of {args.total} (sent again after no answer: {resent[0]}), events stored: {events}")
    print(f"kills at: {', '.join(f'{t:.0f} s' for t in kills)}")
    print(f"all sent in {sent_in:.1f} s, backlog drained at {drained_in:.1f} s")
    print(f"deliveries: {statuses}")
    print(f"lost events: {lost}")
    print(f"duplicated Jira effects: {duplicated} (comments {len(comments)} for {args.total} commits, remote links {len(links)})")
    print(f"longest gap between finished deliveries: {gap} ms")
    print(f"most Jira requests at once: {concurrency['max_in_flight']}")
    for s in servers:
        s.proc.send_signal(signal.SIGTERM)
    for s in servers:
        s.proc.wait(timeout=30)


if __name__ == "__main__":
    main()
