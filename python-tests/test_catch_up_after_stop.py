"""Catch-up after a stop: GitLab could not deliver two pushes while jira-bridge was stopped; its hook's event
record has them. The restarted server takes them in by itself (default settings), each once; a catch-up from the
command line afterwards takes nothing more."""
import json
import pathlib
import subprocess
import time

import requests

from conftest import Process, api, clean_env, push_payload

SECRET = "catch-up-secret"


def start(binaries, data_dir):
    env = clean_env(JIRA_BRIDGE_WEBHOOK_SECRET=SECRET, JIRA_BRIDGE_LOG_LEVEL="warning")
    p = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir, "--allow-local-requests"], env=env,
                log_name="catch-up")
    p.url = f"http://127.0.0.1:{p.port}"
    p.admin_token = pathlib.Path(data_dir, "admin-token").read_text().strip()
    return p


def comments(emulator, key):
    return [c["body"] for c in requests.get(f"{emulator.url}/_emulator/issues/{key}", timeout=10).json()["comments"]]


def wait_for(check, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_restarted_server_takes_in_what_gitlab_could_not_deliver_once(binaries, data_dir, emulator):
    server = start(binaries, data_dir)
    try:
        assert api(server, "POST", "/api/v4/projects", json={
            "id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop"}).status_code == 201
        r = api(server, "PUT", "/api/v4/projects/42/integrations/jira",
                json={"active": True, "url": emulator.url, "username": "jira-bot", "password": "secret-token"})
        assert r.status_code == 200, r.text
        r = api(server, "PUT", "/api/v4/projects/42", json={
            "forge_api_url": emulator.url + "/forge/gitlab/api/v4", "forge_api_token": "forge-token", "forge_hook_id": 7})
        assert r.status_code == 200 and r.json()["forge_hook_id"] == 7, r.text
        delivered = push_payload(1, "PROJ-1")
        r = requests.post(server.url + "/webhooks/gitlab", data=json.dumps(delivered), timeout=10, headers={
            "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET, "Idempotency-Key": "d-1", "Content-Type": "application/json"})
        assert r.status_code == 202, r.text
        wait_for(lambda: len(comments(emulator, "PROJ-1")) == 1, "the first comment")
    finally:
        server.stop()

    # While it was stopped, GitLab could not deliver two pushes (one refused the connection, one got a 502).
    r = requests.post(emulator.url + "/_emulator/forge/hook_deliveries", timeout=10, json={
        "forge": "gitlab", "project": "42", "hook_id": 7, "deliveries": [
            {"event": "Push Hook", "guid": "d-1", "status_code": 202, "payload": delivered},
            {"event": "Push Hook", "guid": "d-2", "status_code": 0, "payload": push_payload(2, "PROJ-1")},
            {"event": "Push Hook", "guid": "d-3", "status_code": 502, "payload": push_payload(3, "PROJ-2")},
        ]})
    assert r.status_code == 201, r.text

    server = start(binaries, data_dir)
    try:
        # Nothing is asked: the server catches up by itself at start.
        wait_for(lambda: len(comments(emulator, "PROJ-1")) == 2 and len(comments(emulator, "PROJ-2")) == 1, "the missed pushes")
        wait_for(lambda: api(server, "GET", "/api/v4/projects/42/integrations/jira/catch_up").json()["status"] == "done", "the catch-up")
        state = api(server, "GET", "/api/v4/projects/42/integrations/jira/catch_up").json()
        assert "took in 2 missed event(s)" in state["last"], state

        # From the command line, while the server runs: nothing more to take in.
        out = subprocess.run([binaries["bridge"], "catch-up", "--project", "42", "--data-dir", data_dir],
                             capture_output=True, text=True, env=clean_env(), timeout=60)
        assert out.returncode == 0 and "catch-up of acme/shop: running" in out.stdout, out.stdout + out.stderr
        wait_for(lambda: api(server, "GET", "/api/v4/projects/42/integrations/jira/catch_up").json()["status"] == "done", "the second")
        state = api(server, "GET", "/api/v4/projects/42/integrations/jira/catch_up").json()
        assert "took in 0 missed event(s), 2 already taken in" in state["last"], state
        assert len(comments(emulator, "PROJ-1")) == 2 and len(comments(emulator, "PROJ-2")) == 1
        bodies = comments(emulator, "PROJ-1") + comments(emulator, "PROJ-2")
        for n in (1, 2, 3):
            assert sum(f"/commit/{n + 1:040x}" in b for b in bodies) == 1, bodies
    finally:
        server.stop()
