"""PostgreSQL restarting under a running jira-bridge (a failover, an upgrade of the database server): while
it is down, webhooks and the API answer 503 and readiness says so; once it is back, the same process goes on
with fresh connections and delivers what is sent. A cluster of its own, so the restart disturbs no other test."""
import json
import pathlib
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import Process, api, clean_env, push_payload

ROOT = pathlib.Path(__file__).resolve().parents[1]
SECRET = "restart-secret"


def cluster(*args):
    return subprocess.run([str(ROOT / "scripts/postgres-cluster"), *args], capture_output=True, text=True, check=True).stdout.strip()


def send(server, n, key):
    return requests.post(server.url + "/webhooks/gitlab", data=json.dumps(push_payload(n, key)), timeout=30, headers={
        "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET, "X-Gitlab-Event-UUID": f"restart-{n}", "Content-Type": "application/json"})


def serve(binaries, data_dir, url, emulator, name):
    """jira-bridge on the database at `url`, with project 42 (acme/shop) and an active integration on the emulator."""
    server = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir, "--allow-local-requests",
                      "--database-url", url], env=clean_env(JIRA_BRIDGE_WEBHOOK_SECRET=SECRET), log_name=name)
    server.url = f"http://127.0.0.1:{server.port}"
    server.admin_token = pathlib.Path(data_dir, "admin-token").read_text().strip()
    assert api(server, "POST", "/api/v4/projects", json={"id": 42, "path_with_namespace": "acme/shop",
                                                         "web_url": "https://gitlab.example.com/acme/shop"}).status_code == 201
    assert api(server, "PUT", "/api/v4/projects/42/integrations/jira",
               json={"active": True, "url": emulator.url, "username": "jira-bot", "password": "secret-token"}).status_code == 200
    return server


def wait_for(predicate, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.skipif(not pathlib.Path("/usr/lib/postgresql/15/bin/initdb").exists(), reason="PostgreSQL 15 is not installed")
def test_a_postgres_restart_is_a_503_meanwhile_and_loses_nothing(binaries, data_dir, emulator):
    directory = tempfile.mkdtemp(prefix="jb-pg-restart-")
    url = cluster("start", directory, "fast")
    try:
        key = requests.post(emulator.url + "/_emulator/issues", json={"project": "PROJ", "summary": "restart"}, timeout=10).json()["key"]
        server = serve(binaries, data_dir, url, emulator, "pg-restart")
        try:
            assert send(server, 0, key).status_code == 202

            cluster("pause", directory)
            down = send(server, 1, key)
            assert down.status_code == 503, (down.status_code, down.text)
            assert api(server, "GET", "/api/v4/projects/42/integrations/jira").status_code == 503
            assert wait_for(lambda: requests.get(server.url + "/-/readiness", timeout=10).status_code == 503)

            cluster("resume", directory)
            assert wait_for(lambda: requests.get(server.url + "/-/readiness", timeout=10).status_code == 200)
            # The forge sends again what got no 202; the same process delivers both pushes.
            assert send(server, 1, key).status_code == 202

            def delivered():
                log = api(server, "GET", "/api/v4/projects/42/integrations/jira/deliveries").json()
                return len(log) == 4 and all(d["status"] == "succeeded" for d in log)
            assert wait_for(delivered, 60), api(server, "GET", "/api/v4/projects/42/integrations/jira/deliveries").json()
            comments = requests.get(f"{emulator.url}/_emulator/issues/{key}", timeout=10).json()["comments"]
            assert len(comments) == 2
        finally:
            assert server.stop() == 0, server.output[-2000:]
    finally:
        cluster("stop", directory)


@pytest.mark.skipif(not pathlib.Path("/usr/lib/postgresql/15/bin/initdb").exists(), reason="PostgreSQL 15 is not installed")
def test_a_database_crash_during_a_drain_loses_no_webhook_and_duplicates_nothing(binaries, data_dir, emulator):
    """The queue's bookkeeping commits without waiting for the WAL flush; a webhook's intake waits for it. A crash
    of the database server (immediate stop: what an asynchronous commit had not yet written is gone) in the
    middle of a drain must lose no acknowledged webhook, and the deliveries whose completion was lost run again
    without writing anything twice. A durable cluster (fsync and synchronous_commit on), as in production."""
    directory = tempfile.mkdtemp(prefix="jb-pg-crash-")
    url = cluster("start", directory)
    try:
        keys = [requests.post(emulator.url + "/_emulator/issues", json={"project": "PROJ", "summary": f"crash {i}"}, timeout=10).json()["key"]
                for i in range(20)]
        server = serve(binaries, data_dir, url, emulator, "pg-crash")
        try:
            pushes = 200

            def deliver(n):
                """As the forge does: sends again until answered 202 (503 while the database is down)."""
                def sent():
                    try:
                        return send(server, n, keys[n % len(keys)]).status_code == 202
                    except requests.RequestException:
                        return False
                assert wait_for(sent, 120), n
            for n in range(pushes // 2):
                deliver(n)
            # Crash while deliveries run and webhooks arrive.
            crash = threading.Thread(target=lambda: (cluster("crash", directory), time.sleep(1), cluster("resume", directory)))
            crash.start()
            for n in range(pushes // 2, pushes):
                deliver(n)
            crash.join()
            assert wait_for(lambda: requests.get(server.url + "/-/readiness", timeout=10).status_code == 200)
            acknowledged = list(range(pushes))

            def drained():
                # Events too: one whose planning the crash took back is planned again when its lease (10 s) ends.
                metrics = requests.get(server.url + "/metrics", timeout=10).text
                depth = sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("jira_bridge_queue_depth"))
                return depth == 0
            assert wait_for(drained, 120)
            # Every acknowledged push wrote its comment exactly once, whatever the crash took back.
            for i, key in enumerate(keys):
                issue = requests.get(f"{emulator.url}/_emulator/issues/{key}", timeout=10).json()
                bodies = [c["body"] for c in issue["comments"]]
                expected = [n for n in acknowledged if n % len(keys) == i]
                for n in expected:
                    assert sum(f"Change {n} for {key}" in b for b in bodies) == 1, (key, n, bodies)
                assert len(bodies) == len(expected), (key, len(bodies), len(expected))
        finally:
            assert server.stop() == 0, server.output[-2000:]
    finally:
        cluster("stop", directory)
