"""`jira-bridge migrate-store` moves a populated SQLite store to PostgreSQL: the moved instance serves the
same settings, with working passwords (still encrypted with the same key), and the same delivery log."""
import json
import pathlib
import subprocess
import time

import requests

from conftest import Process, api, clean_env, psql, push_payload

SECRET = "migrate-store-secret"


def serve(binaries, data_dir, database_url=None):
    args = [binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir, "--allow-local-requests"]
    if database_url:
        args += ["--database-url", database_url]
    p = Process(args, env=clean_env(JIRA_BRIDGE_WEBHOOK_SECRET=SECRET, JIRA_BRIDGE_LOG_LEVEL="warning"), log_name="migrate-store")
    p.url = f"http://127.0.0.1:{p.port}"
    p.admin_token = pathlib.Path(data_dir, "admin-token").read_text().strip()
    return p


def push(server, n, key):
    body = push_payload(n, key)
    r = requests.post(server.url + "/webhooks/gitlab", data=json.dumps(body), timeout=10,
                      headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET, "Content-Type": "application/json"})
    assert r.status_code == 202, r.text


def settled_log(server, count):
    deadline = time.time() + 30
    while time.time() < deadline:
        log = api(server, "GET", "/api/v4/projects/42/integrations/jira/deliveries?per_page=100").json()
        if len(log) == count and all(d["status"] == "succeeded" for d in log):
            return log
        time.sleep(0.1)
    raise AssertionError(f"deliveries did not finish: {log}")


def migrate_store(binaries, source, target):
    return subprocess.run([binaries["bridge"], "migrate-store", "--from", source, "--to", target],
                          capture_output=True, text=True, env=clean_env(), timeout=120)


def test_a_populated_sqlite_store_moves_to_postgres(binaries, data_dir, emulator, postgres_url):
    requests.post(emulator.url + "/_emulator/issues", json={"project": "PROJ", "summary": "first"}, timeout=10)
    requests.post(emulator.url + "/_emulator/issues", json={"project": "PROJ", "summary": "second"}, timeout=10)
    server = serve(binaries, data_dir)
    try:
        assert api(server, "POST", "/api/v4/projects", json={"id": 42, "path_with_namespace": "acme/shop",
                                                              "web_url": "https://gitlab.example.com/acme/shop"}).status_code == 201
        r = api(server, "PUT", "/api/v4/projects/42/integrations/jira",
                json={"active": True, "url": emulator.url, "username": "jira-bot", "password": "secret-token",
                      "jira_issue_transition_automatic": True})
        assert r.status_code == 200, r.text
        token = api(server, "POST", "/api/v4/tokens", json={"name": "ci", "role": "maintainer", "scope": "project", "project_id": 42}).json()
        for n, key in enumerate(["PROJ-1", "PROJ-2", "PROJ-1"]):
            push(server, n, key)
        log_before = settled_log(server, 6)
        settings_before = api(server, "GET", "/api/v4/projects/42/integrations/jira").json()
        tokens_before = api(server, "GET", "/api/v4/tokens").json()
        # While the server runs on it, the source is refused: a copy would mix two moments.
        refused = migrate_store(binaries, f"sqlite:{data_dir}/jira-bridge.sqlite", postgres_url)
        assert refused.returncode != 0 and "is serving" in refused.stderr and refused.stdout == "", refused.stderr
    finally:
        server.stop()

    sqlite_url = f"sqlite:{data_dir}/jira-bridge.sqlite"
    moved = migrate_store(binaries, sqlite_url, postgres_url)
    assert moved.returncode == 0, moved.stderr
    assert "projects: 1" in moved.stdout and "deliveries: 6" in moved.stdout and "events: 3" in moved.stdout, moved.stdout
    assert "api_tokens: 1" in moved.stdout and "integrations: 1" in moved.stdout, moved.stdout
    # Sealed as they were: the password is nowhere in the target in clear.
    dump = "\n".join("\t".join(row) for row in psql(postgres_url, "SELECT i::text FROM integrations i"))
    assert "secret-token" not in dump

    again = migrate_store(binaries, sqlite_url, postgres_url)
    assert again.returncode != 0
    assert "not empty" in again.stderr and again.stdout == "", again.stderr

    # The same data directory (its secret key and admin token), now on PostgreSQL.
    server = serve(binaries, data_dir, postgres_url)
    try:
        assert api(server, "GET", "/api/v4/projects/42/integrations/jira").json() == settings_before
        assert api(server, "GET", "/api/v4/projects/42/integrations/jira/deliveries?per_page=100").json() == log_before
        assert api(server, "GET", "/api/v4/tokens").json() == tokens_before
        assert api(server, "GET", "/api/v4/projects/42", headers={"PRIVATE-TOKEN": token["token"]}).status_code == 200
        # The stored password decrypts and Jira takes it: Test settings, and a new delivery.
        test = api(server, "POST", "/api/v4/projects/42/integrations/jira/test")
        assert test.status_code == 200 and "error" not in test.json(), test.text
        push(server, 3, "PROJ-2")
        log_after = settled_log(server, 8)
        assert {d["id"] for d in log_before} < {d["id"] for d in log_after}, "new deliveries get new ids after the copied ones"
    finally:
        server.stop()
