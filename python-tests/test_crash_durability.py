"""SIGKILL in the middle of 300 deliveries: nothing acknowledged is lost and nothing is duplicated, and
with the default settings (no shortened lease) the deliveries the dead process left running resume at once."""
import json
import pathlib
import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import Process, api, clean_env, push_payload

SECRET = "crash-test-secret"
TOTAL = 300
ISSUES = 10


def push(n):
    return push_payload(n, f"PROJ-{n % ISSUES + 1}")


def start(binaries, data_dir):
    # Default lease, heartbeat and retry settings: what a user runs.
    env = clean_env(JIRA_BRIDGE_WEBHOOK_SECRET=SECRET, JIRA_BRIDGE_LOG_LEVEL="warning")
    p = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir, "--allow-local-requests"], env=env, log_name="crash")
    p.url = f"http://127.0.0.1:{p.port}"
    p.admin_token = pathlib.Path(data_dir, "admin-token").read_text().strip()
    return p


def send(server, n):
    try:
        r = requests.post(server.url + "/webhooks/gitlab", data=json.dumps(push(n)), timeout=10, headers={
            "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET, "Idempotency-Key": f"delivery-{n}",
            "Content-Type": "application/json"})
        return n, r.status_code, r.json().get("event_id") if r.status_code == 202 else None
    except requests.RequestException:
        return n, None, None


def test_sigkill_mid_delivery_loses_and_duplicates_nothing(binaries, data_dir, emulator):
    for i in range(ISSUES):
        requests.post(emulator.url + "/_emulator/issues", json={"project": "PROJ", "summary": f"issue {i}"}, timeout=10)
    # Slow Jira down so the kill lands while deliveries are in flight.
    requests.post(emulator.url + "/_emulator/faults", json={"method": "POST", "path": "/comment", "delay_ms": 15, "times": 10000}, timeout=10)

    server = start(binaries, data_dir)
    api(server, "POST", "/api/v4/projects", json={"id": 42, "path_with_namespace": "acme/shop",
                                                   "web_url": "https://gitlab.example.com/acme/shop"})
    r = api(server, "PUT", "/api/v4/projects/42/integrations/jira",
            json={"active": True, "url": emulator.url, "username": "jira-bot", "password": "secret-token"})
    assert r.status_code == 200, r.text

    acknowledged = {}
    lock = threading.Lock()

    def sender(numbers):
        for n in numbers:
            n, status, event_id = send(server, n)
            if status == 202:
                with lock:
                    acknowledged[n] = event_id

    threads = [threading.Thread(target=sender, args=(range(k, TOTAL, 8),)) for k in range(8)]
    for t in threads:
        t.start()
    database = pathlib.Path(data_dir, "jira-bridge.sqlite")
    deadline = time.time() + 60
    running_at_kill = []
    while time.time() < deadline:
        if len(acknowledged) >= TOTAL // 2:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
                running_at_kill = [row[0] for row in db.execute("SELECT id FROM deliveries WHERE status = 'running'")]
            if running_at_kill:
                break
        time.sleep(0.005)
    print("acknowledged before the kill:", len(acknowledged), flush=True)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    for t in threads:
        t.join()
    before_restart = dict(acknowledged)
    assert 0 < len(before_restart) < TOTAL, "the kill must land in the middle"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
        left_running = [row[0] for row in db.execute("SELECT id FROM deliveries WHERE status = 'running'")]
    print("deliveries left running by the killed process:", len(left_running), flush=True)
    assert left_running, "the kill must land while deliveries run"

    restarted = time.time()
    server = start(binaries, data_dir)
    try:
        # What the dead process held is released at once: those deliveries finish within seconds, not after a lease.
        resumed = None
        while time.time() < restarted + 30:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
                marks = ",".join("?" * len(left_running))
                rows = dict(db.execute(f"SELECT id, status FROM deliveries WHERE id IN ({marks})", left_running).fetchall())
            if all(status in ("succeeded", "skipped") for status in rows.values()):
                resumed = time.time() - restarted
                break
            time.sleep(0.1)
        print("seconds from restart until the left-running deliveries were done:", resumed, flush=True)
        assert resumed is not None and resumed < 10, f"deliveries resumed after {resumed} s"
        # The forge redelivers what was not acknowledged (and some that were): same keys, same event ids.
        with ThreadPoolExecutor(max_workers=8) as pool:
            for n, status, event_id in pool.map(lambda n: send(server, n), range(TOTAL)):
                assert status == 202
                if n in before_restart:
                    assert event_id == before_restart[n], "a redelivery is answered with the first event id"

        deadline = time.time() + 120
        while time.time() < deadline:
            log = api(server, "GET", "/api/v4/projects/42/integrations/jira/deliveries?per_page=1").headers
            deliveries = []
            page = 1
            while True:
                batch = api(server, "GET", f"/api/v4/projects/42/integrations/jira/deliveries?per_page=100&page={page}").json()
                deliveries += batch
                if len(batch) < 100:
                    break
                page += 1
            # Pages are read newest first while the planner may still be adding deliveries, so a page can
            # repeat rows of the one before: count distinct ids.
            if len({d["id"] for d in deliveries}) == 2 * TOTAL and all(d["status"] in ("succeeded", "skipped") for d in deliveries):
                break
            time.sleep(0.2)
        print("deliveries after restart:", len(deliveries), flush=True)
        assert len({d["id"] for d in deliveries}) == 2 * TOTAL, f"{len(deliveries)} deliveries"
        assert all(d["status"] in ("succeeded", "skipped") for d in deliveries), [d for d in deliveries if d["status"] not in ("succeeded", "skipped")][:3]

        bodies = []
        links = []
        for i in range(1, ISSUES + 1):
            issue = requests.get(f"{emulator.url}/_emulator/issues/PROJ-{i}", timeout=10).json()
            bodies += [c["body"] for c in issue["comments"]]
            links += [l["globalId"] for l in issue["remote_links"]]
        skipped = [d for d in deliveries if d["status"] == "skipped"]
        assert len(bodies) == TOTAL, f"{len(bodies)} comments for {TOTAL} commits; skipped deliveries: {skipped[:10]}"
        assert len(set(bodies)) == TOTAL, "no comment is duplicated"
        assert len(set(links)) == len(links) == TOTAL
    finally:
        server.stop()
