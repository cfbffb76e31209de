"""Several jira-bridge processes on one PostgreSQL database (issue 13): they share the work, none runs a
delivery twice, Jira never sees more requests at once than the per-site limit allows over all of them, and
one killed with SIGKILL in the middle of the load loses nothing. Default lease, heartbeat and retry settings."""
import base64
import json
import os
import re
import signal
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import Process, clean_env, psql, push_payload

SECRET = "multi-process-secret"
TOTAL = 300
ISSUES = 10
SITE_LIMIT = 4  # JIRA_BRIDGE_SITE_CONCURRENCY's default


def push(n):
    return push_payload(n, f"PROJ-{n % ISSUES + 1}")


class Cluster:
    """N serve processes on one database, with the same secret key and admin token (as behind a load balancer)."""

    def __init__(self, binaries, database_url, count):
        self.binaries = binaries
        self.database_url = database_url
        self.key = base64.b64encode(os.urandom(32)).decode()
        self.admin = "multi-process-admin-token-0123456789"
        self.processes = [self.start(i) for i in range(count)]

    def start(self, index):
        env = clean_env(JIRA_BRIDGE_WEBHOOK_SECRET=SECRET, JIRA_BRIDGE_LOG_LEVEL="warning", JIRA_BRIDGE_SECRET_KEY=self.key,
                        JIRA_BRIDGE_ADMIN_TOKEN=self.admin, JIRA_BRIDGE_DATABASE_URL=self.database_url)
        p = Process([self.binaries["bridge"], "serve", "--port", "0", "--data-dir", tempfile.mkdtemp(prefix="jb-mp-"),
                     "--allow-local-requests"], env=env, log_name=f"mp{index}")
        p.url = f"http://127.0.0.1:{p.port}"
        return p

    def api(self, index, method, path, **kwargs):
        return requests.request(method, self.processes[index].url + path, headers={"PRIVATE-TOKEN": self.admin}, timeout=60, **kwargs)

    def send(self, index, n):
        try:
            r = requests.post(self.processes[index].url + "/webhooks/gitlab", data=json.dumps(push(n)), timeout=10, headers={
                "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET, "X-Gitlab-Event-UUID": f"uuid-{n}",
                "Content-Type": "application/json"})
            return n, r.status_code, r.json().get("event_id") if r.status_code == 202 else None
        except requests.RequestException:
            return n, None, None

    def deliveries_run(self, index):
        """How many deliveries this process ran, from its /metrics."""
        text = requests.get(self.processes[index].url + "/metrics", timeout=10).text
        return sum(float(m) for m in re.findall(r'^jira_bridge_deliveries_total\{[^}]*\} (\S+)$', text, re.M))

    def stop(self):
        for p in self.processes:
            p.stop()


def all_deliveries(cluster, index):
    deliveries, page = [], 1
    while True:
        batch = cluster.api(index, "GET", f"/api/v4/projects/42/integrations/jira/deliveries?per_page=100&page={page}").json()
        deliveries += batch
        if len(batch) < 100:
            return deliveries
        page += 1


@pytest.mark.parametrize("count,kill", [(2, False), (3, True)], ids=["two-processes", "three-processes-one-killed"])
def test_processes_share_one_database(binaries, emulator, postgres_url, count, kill):
    for i in range(ISSUES):
        requests.post(emulator.url + "/_emulator/issues", json={"project": "PROJ", "summary": f"issue {i}"}, timeout=10)
    # Jira takes 15 ms per comment, so deliveries are in flight when the kill lands.
    requests.post(emulator.url + "/_emulator/faults", json={"method": "POST", "path": "/comment", "delay_ms": 15, "times": 10000}, timeout=10)
    cluster = Cluster(binaries, postgres_url, count)
    try:
        r = cluster.api(0, "POST", "/api/v4/projects", json={"id": 42, "path_with_namespace": "acme/shop",
                                                               "web_url": "https://gitlab.example.com/acme/shop"})
        assert r.status_code == 201, r.text
        r = cluster.api(0, "PUT", "/api/v4/projects/42/integrations/jira",
                        json={"active": True, "url": emulator.url, "username": "jira-bot", "password": "secret-token"})
        assert r.status_code == 200, r.text
        # Saved through one process, seen by the next request to any other.
        for i in range(1, count):
            assert cluster.api(i, "GET", "/api/v4/projects/42/integrations/jira").json()["properties"]["url"] == emulator.url

        acknowledged = {}
        lock = threading.Lock()
        victim = count - 1

        def sender(numbers):
            for n in numbers:
                n, status, event_id = cluster.send(n % count, n)
                if status == 202:
                    with lock:
                        acknowledged[n] = event_id

        threads = [threading.Thread(target=sender, args=(range(k, TOTAL, 6),)) for k in range(6)]
        for t in threads:
            t.start()
        if kill:
            deadline = time.time() + 60
            while time.time() < deadline and len(acknowledged) < TOTAL // 2:
                time.sleep(0.005)
            running = psql(postgres_url, "SELECT count(*) FROM deliveries WHERE status = 'running'")
            print("acknowledged before the kill:", len(acknowledged), "running:", running, flush=True)
            cluster.processes[victim].proc.send_signal(signal.SIGKILL)
            cluster.processes[victim].proc.wait()
        for t in threads:
            t.join()
        before = dict(acknowledged)
        if kill:
            assert 0 < len(before) < TOTAL, "the kill must land in the middle"
            cluster.processes[victim] = cluster.start(victim)

        # The forge redelivers everything, to any process: one event id per X-Gitlab-Event-UUID.
        with ThreadPoolExecutor(max_workers=6) as pool:
            for n, status, event_id in pool.map(lambda n: cluster.send((n + 1) % count, n), range(TOTAL)):
                assert status == 202
                if n in before:
                    assert event_id == before[n], "a redelivery to another process is answered with the first event id"

        deadline = time.time() + 120
        while time.time() < deadline:
            deliveries = all_deliveries(cluster, 0)
            if len({d["id"] for d in deliveries}) == 2 * TOTAL and all(d["status"] in ("succeeded", "skipped") for d in deliveries):
                break
            time.sleep(0.2)
        assert len({d["id"] for d in deliveries}) == 2 * TOTAL, f"{len(deliveries)} deliveries"
        assert all(d["status"] in ("succeeded", "skipped") for d in deliveries), [d for d in deliveries if d["status"] not in ("succeeded", "skipped")][:3]
        assert psql(postgres_url, "SELECT count(*) FROM events")[0][0] == str(TOTAL)

        bodies, links = [], []
        for i in range(1, ISSUES + 1):
            issue = requests.get(f"{emulator.url}/_emulator/issues/PROJ-{i}", timeout=10).json()
            bodies += [c["body"] for c in issue["comments"]]
            links += [l["globalId"] for l in issue["remote_links"]]
        assert len(bodies) == len(set(bodies)) == TOTAL, f"{len(bodies)} comments, {len(set(bodies))} distinct, for {TOTAL} commits"
        assert len(links) == len(set(links)) == TOTAL

        concurrency = requests.get(emulator.url + "/_emulator/concurrency", timeout=10).json()
        print("most Jira requests at once:", concurrency["max_in_flight"], flush=True)
        assert concurrency["max_in_flight"] <= SITE_LIMIT, concurrency
        # Every process that lived through the run did part of the work.
        survivors = [i for i in range(count) if not (kill and i == victim)]
        shares = [cluster.deliveries_run(i) for i in survivors]
        print("deliveries run per surviving process:", shares, flush=True)
        assert all(share > 0 for share in shares), shares
    finally:
        cluster.stop()
