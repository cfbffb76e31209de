"""A backfill of a project with 1,000 merge requests, started from the command line, killed with SIGKILL while
a page is on its way to Jira, resumed by the restarted server: the last 400 merge requests reach the Development
panel in bounded pages, each exactly once. Default settings (lease, heartbeat, retries): what a user runs."""
import json
import os
import pathlib
import signal
import sqlite3
import subprocess
import time

import requests

from conftest import Process, api, clean_env

TOTAL = 1000
KEYS = ["PROJ-1", "PROJ-2"]


def start(binaries, data_dir, emulator):
    env = clean_env(JIRA_BRIDGE_LOG_LEVEL="warning")
    p = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir, "--allow-local-requests",
                 "--atlassian-api-url", emulator.url], env=env, log_name="backfill")
    p.url = f"http://127.0.0.1:{p.port}"
    p.admin_token = pathlib.Path(data_dir, "admin-token").read_text().strip()
    return p


def backfill_requests(emulator):
    """The bodies of the backfill's requests Jira answered, in order."""
    out = []
    for r in requests.get(emulator.url + "/_emulator/requests", timeout=30).json():
        if r["method"] == "POST" and "/devinfo/" in r["path"] and r.get("body") and r["status"] == 202:
            body = json.loads(r["body"])
            if body.get("operationType") == "BACKFILL":
                out.append(body)
    return out


def running_backfill_page(data_dir):
    with sqlite3.connect(f"file:{pathlib.Path(data_dir, 'jira-bridge.sqlite')}?mode=ro", uri=True, timeout=5) as db:
        rows = db.execute("SELECT work FROM deliveries WHERE action = 'backfill' AND status = 'running'").fetchall()
    return [json.loads(w)["backfill"] for (w,) in rows]


def test_backfill_of_1000_merge_requests_resumes_after_sigkill_and_sends_nothing_twice(binaries, data_dir):
    args = [binaries["emulator"], "--port", "0", "--seed", "--deployment", "cloud"]
    contract = os.environ.get("JIRA_BRIDGE_CONTRACT_DIR")
    if contract:
        args += ["--record-file", os.path.join(contract, f"python-backfill-{os.getpid()}-{time.time_ns()}.jsonl")]
    emulator = Process(args, env=clean_env(), log_name="emulator-backfill")
    emulator.url = f"http://127.0.0.1:{emulator.port}"
    server = None
    try:
        r = requests.post(emulator.url + "/_emulator/forge/repositories",
                          json={"forge": "gitlab", "project": "42", "merge_requests": TOTAL, "branches": 0, "keys": KEYS}, timeout=10)
        assert r.status_code == 201, r.text
        # The third page's request to Jira is held (600 s, unanswered and not yet processed): the kill lands while it
        # is on its way, after two pages were sent.
        requests.post(emulator.url + "/_emulator/faults",
                      json={"method": "POST", "path": "/devinfo/", "delay_ms": 600_000, "after": 2, "times": 1}, timeout=10)

        server = start(binaries, data_dir, emulator)
        assert api(server, "POST", "/api/v4/projects", json={
            "id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop"}).status_code == 201
        r = api(server, "PUT", "/api/v4/projects/42/integrations/jira", json={
            "active": True, "url": emulator.url, "username": "jira-bot@example.com", "password": "secret-token",
            "commit_events": False, "merge_requests_events": False, "development_panel_enabled": True,
            "jira_oauth_client_id": "jira-bridge-client", "jira_oauth_client_secret": "oauth-client-secret"})
        assert r.status_code == 200, r.text
        r = api(server, "PUT", "/api/v4/projects/42", json={
            "forge_api_url": emulator.url + "/forge/gitlab/api/v4", "forge_api_token": "forge-token"})
        assert r.status_code == 200, r.text

        # Started from the command line, on the running server's data.
        out = subprocess.run([binaries["bridge"], "backfill", "--project", "42", "--data-dir", data_dir],
                             capture_output=True, text=True, env=clean_env(), timeout=60)
        assert out.returncode == 0, out.stderr
        assert "backfill of acme/shop: running" in out.stdout, out.stdout

        started = time.time()
        deadline = time.time() + 60
        while time.time() < deadline:
            if len(backfill_requests(emulator)) == 2 and any(p["page"] == 3 for p in running_backfill_page(data_dir)):
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"the third page never went out: {running_backfill_page(data_dir)}\n{server.output[-3000:]}")
        print("the kill lands", round(time.time() - started, 2), "s after the backfill was queued", flush=True)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        assert len(backfill_requests(emulator)) == 2

        server = start(binaries, data_dir, emulator)
        restarted = time.time()
        deadline = time.time() + 120
        state = None
        while time.time() < deadline:
            state = api(server, "GET", "/api/v4/projects/42/integrations/jira/backfill").json()
            if state["status"] != "running":
                break
            time.sleep(0.1)
        assert state and state["status"] == "done", f"{state}\n{server.output[-3000:]}"
        print("the backfill was done", round(time.time() - restarted, 2), "s after the restart", flush=True)

        bodies = backfill_requests(emulator)
        pulls = [p["id"] for b in bodies for r in b["repositories"] for p in r.get("pullRequests", [])]
        expected = {str(i) for i in range(TOTAL - 399, TOTAL + 1) if i % 4 != 0}
        assert len(pulls) == len(expected), f"{len(pulls)} sent for {len(expected)}: something was sent twice or left out"
        assert set(pulls) == expected
        assert all(len(r.get("pullRequests", [])) <= 100 for b in bodies for r in b["repositories"]), "pages are bounded"
        pages = [d for d in api(server, "GET", "/api/v4/projects/42/integrations/jira/deliveries?per_page=100").json()
                 if d["action"] == "backfill"]
        assert len(pages) == 5 and all(d["status"] == "succeeded" for d in pages), pages
        resumed = [d for d in pages if d["backfill"]["page"] == 3 and d["backfill"]["phase"] == "merge_requests"]
        assert resumed and resumed[0]["attempts"] >= 2, "the page the killed process ran was run again"

        out = subprocess.run([binaries["bridge"], "backfill", "--project", "42", "--status", "--data-dir", data_dir],
                             capture_output=True, text=True, env=clean_env(), timeout=60)
        assert out.returncode == 0 and "backfill of acme/shop: done, 5 page(s)" in out.stdout, out.stdout + out.stderr
    finally:
        if server:
            server.stop()
        emulator.stop(sig=signal.SIGKILL)  # it holds the delayed request: no graceful wait
