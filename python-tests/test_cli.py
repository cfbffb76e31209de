"""The jira-bridge command: startup errors, generated files, tokens, graceful shutdown."""
import gzip
import json
import os
import pathlib
import re
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest
import requests

from conftest import ROOT, Process, api, clean_env, push_payload


def run(binaries, *args, env=None):
    return subprocess.run([binaries["bridge"], *args], capture_output=True, text=True, env=env or clean_env(), timeout=60)


@pytest.mark.parametrize("args,env,expected", [
    (["serve", "--port", "abc"], {}, "invalid port 'abc'"),
    (["serve", "--port", "70000"], {}, "invalid port '70000'"),
    (["serve", "--nope"], {}, "Unknown option '--nope'"),
    (["serve"], {"JIRA_BRIDGE_LOG_LEVEL": "loud"}, "invalid log level 'loud'"),
    (["serve"], {"JIRA_BRIDGE_PORT": "-1"}, "invalid port '-1'"),
    (["serve", "--port", "-1"], {}, "invalid port '-1'"),
    (["serve"], {"JIRA_BRIDGE_WORKER_CONCURRENCY": "0.6"}, "JIRA_BRIDGE_WORKER_CONCURRENCY must be a whole number from 1 to 1024, not '0.6'"),
    (["serve"], {"JIRA_BRIDGE_SITE_CONCURRENCY": "0.7"}, "JIRA_BRIDGE_SITE_CONCURRENCY must be a whole number from 1 to 1024, not '0.7'"),
    (["serve"], {"JIRA_BRIDGE_MAX_CONNECTIONS": "1e9"}, "JIRA_BRIDGE_MAX_CONNECTIONS must be a whole number"),
    (["serve"], {"JIRA_BRIDGE_HEADER_TIMEOUT_SECONDS": "0"}, "JIRA_BRIDGE_HEADER_TIMEOUT_SECONDS must be a number"),
    (["serve"], {"JIRA_BRIDGE_SECRET_KEY": "c2hvcnQ="}, "must be the base64 text of 32 bytes"),
    (["serve"], {"JIRA_BRIDGE_ALLOW_LOCAL_REQUESTS": "maybe"}, "JIRA_BRIDGE_ALLOW_LOCAL_REQUESTS must be true or false"),
    (["serve"], {"JIRA_BRIDGE_CATCH_UP_ON_START": "maybe"}, "JIRA_BRIDGE_CATCH_UP_ON_START must be true or false, not 'maybe'"),
    (["serve", "--database-url", "mysql://x"], {}, "invalid database URL 'mysql://x'"),
    (["serve", "--public-url", "gitlab.example.com"], {}, "invalid public URL"),
    (["serve"], {"JIRA_BRIDGE_WEB_DIR": "/nowhere/Web"}, "JIRA_BRIDGE_WEB_DIR=/nowhere/Web does not exist: it must name the Web folder"),
])
def test_a_bad_flag_or_value_exits_64_with_one_clear_line_and_a_pointer_to_help(binaries, data_dir, args, env, expected):
    result = run(binaries, *args, "--data-dir", data_dir, env=clean_env(**env))
    assert result.returncode == 64, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("jira-bridge: error: ") and expected in lines[0]
    assert lines[1] == "See 'jira-bridge serve --help'."
    assert result.stdout == ""


@pytest.mark.parametrize("url,expected,status", [
    ("postgres://jb:hunter2@127.0.0.1:1/x?sslmode=disable", "cannot connect to PostgreSQL at postgres://jb@127.0.0.1:1/x?sslmode=disable: Connection refused", 69),
    ("postgres://jb:hunter2@db/x?pool_size=0", "pool_size", 64),
    ("postgres://jb:hunter2@db/x?sslmode=sometimes", "sslmode", 64),
])
def test_a_bad_or_unreachable_postgres_url_is_one_line_and_touches_nothing(binaries, tmp_path, url, expected, status):
    """A mistake in the URL is a usage error (64, with the pointer to --help); a server that does not answer is 69."""
    target = tmp_path / "never-created"
    for command in (["serve"], ["migrate"], ["token", "create", "--name", "x", "--role", "admin"]):
        result = run(binaries, *command, "--data-dir", str(target), "--database-url", url)
        assert result.returncode == status, result.stderr
        lines = [l for l in result.stderr.splitlines() if l.strip()]
        assert expected in lines[0], result.stderr
        assert lines[1:] == ([f"See 'jira-bridge {' '.join(command[:2] if command[0] == 'token' else command[:1])} --help'."] if status == 64 else [])
        assert "hunter2" not in result.stderr
        assert not target.exists(), "nothing is written before the database answers"


def test_serve_and_migrate_on_postgres_from_a_fresh_start(binaries, data_dir, postgres_url):
    migrated = run(binaries, "migrate", "--database-url", postgres_url, "--data-dir", data_dir)
    assert migrated.returncode == 0, migrated.stderr
    p = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir, "--database-url", postgres_url],
                env=clean_env(), log_name="pg")
    try:
        token = pathlib.Path(data_dir, "admin-token").read_text().strip()
        base = f"http://127.0.0.1:{p.port}"
        assert requests.get(base + "/-/readiness", timeout=10).status_code == 200
        r = requests.post(base + "/api/v4/projects", headers={"PRIVATE-TOKEN": token}, timeout=10,
                          json={"id": 7, "path_with_namespace": "acme/web", "web_url": "https://gitlab.example.com/acme/web"})
        assert r.status_code == 201, r.text
        # The pages: sign in with the admin token, then the project's page and its delivery log.
        browser = requests.Session()
        form = browser.get(base + "/", timeout=10)
        assert form.status_code == 200
        csrf = re.search(r'name="_csrf" value="([^"]+)"', form.text).group(1)
        signed_in = browser.post(base + "/sign_in", data={"token": token, "_csrf": csrf}, timeout=10)
        assert signed_in.status_code == 200 and "acme/web" in signed_in.text, signed_in.text[:500]
        assert browser.get(base + "/projects/7", timeout=10).status_code == 200
        assert browser.get(base + "/projects/7/integrations/jira/deliveries", timeout=10).status_code == 200
    finally:
        assert p.stop() == 0, p.output[p.output.find("Fatal"):][:2500] + p.output[p.output.find("crashed:"):][:2500]


def test_version_names_the_version_and_commit_in_the_command_the_log_and_health(binaries, data_dir):
    version = (ROOT / "VERSION").read_text().strip()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
    result = run(binaries, "--version")
    assert result.returncode == 0
    printed = result.stdout.strip()
    assert re.fullmatch(re.escape(version) + r" \(commit [0-9a-f]{12}(-modified)?\)", printed), printed
    if commit:
        assert commit in printed, "built from this checkout"
    p = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir], env=clean_env(), log_name="version")
    try:
        health = requests.get(f"http://127.0.0.1:{p.port}/-/health", timeout=10).json()
        assert health["status"] == "ok" and health["version"] == version and health["commit"] in printed
        metrics = requests.get(f"http://127.0.0.1:{p.port}/metrics", timeout=10).text
        assert f'jira_bridge_build_info{{version="{version}",commit="{health["commit"]}"}} 1' in metrics
    finally:
        p.stop()
    assert f"version={version}" in p.output and f"commit={health['commit']}" in p.output, "logged at start"


def test_a_port_in_use_names_the_address_and_writes_nothing(binaries, server, tmp_path):
    target = tmp_path / "never-created"
    port = server.url.rsplit(":", 1)[1]
    result = run(binaries, "serve", "--port", port, "--data-dir", str(target))
    assert result.returncode == 69, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}: Address already in use" in lines[0], result.stderr
    assert "--port" in lines[0]
    assert not target.exists(), "the address is tried before the data directory is made"


@pytest.mark.parametrize("command", [["token", "create", "--name", "x", "--role", "admin"], ["token", "list"], ["token", "revoke", "1"],
                                     ["deliveries", "list", "--project", "42"], ["deliveries", "retry", "--project", "42", "1"], ["prune"]])
def test_operator_commands_never_create_a_database(binaries, tmp_path, command):
    target = tmp_path / "typo"
    result = run(binaries, *command, "--data-dir", str(target))
    assert result.returncode == 64, result.stderr
    assert f"there is no database at {target}/jira-bridge.sqlite" in result.stderr
    assert not target.exists()


@pytest.mark.parametrize("args,expected,status", [
    (["nope"], "Unexpected argument 'nope'", 64),
    (["deliveries", "list"], "Missing expected argument '--project <project>'", 64),
    (["deliveries", "retry", "--project", "42"], "name delivery ids or --all-failed", 64),
    (["deliveries", "list", "--project", "42", "--limit", "1e300"], "--limit", 64),
    (["deliveries", "list", "--project", "42", "--timeout", "1e300", "--wait"], "--timeout", 64),
    (["keys", "--regex", "("], "invalid --regex: not valid RE2 syntax: missing ): (", 64),
    (["token", "revoke", "9223372036854775808"], "9223372036854775808", 64),
    # Negative numbers are values, not unknown flags ("Missing value for '--retention-days'" before).
    (["serve", "--retention-days", "-1"], "invalid retention '-1'", 64),
    (["prune", "--retention-days", "-5"], "invalid retention '-5'", 64),
    (["deliveries", "list", "--project", "42", "--limit", "-1"], "--limit must be from 1 to 1000", 64),
    (["deliveries", "list", "--project", "42", "--timeout", "-3"], "--timeout must be from 0 to 86400", 64),
    # What needs no database is checked before the database is looked for.
    (["token", "create", "--name", "x", "--role", "boss"], "--role does not have a valid value (admin, maintainer, reporter), not 'boss'", 64),
    (["token", "create", "--name", "x", "--role", "reporter", "--scope", "project"], "--scope project needs --project-id", 64),
    (["token", "create", "--name", "x", "--role", "admin", "--scope", "group", "--group-id", "1"], "--role admin requires --scope instance", 64),
])
def test_each_kind_of_mistake_has_its_exit_status(binaries, data_dir, args, expected, status):
    result = subprocess.run([binaries["bridge"], *args], capture_output=True, text=True, env=clean_env(), timeout=60, input="")
    assert result.returncode == status, result.stderr
    assert expected in result.stderr
    assert "(?P<issue>" not in result.stderr, "never the pattern built from the user's"
    assert "--help'." in result.stderr.splitlines()[-1]


def test_a_bad_value_touches_nothing(binaries, tmp_path):
    target = tmp_path / "never-created"
    result = run(binaries, "serve", "--port", "abc", "--data-dir", str(target))
    assert result.returncode != 0
    assert not target.exists()


def test_generated_key_files_are_private_and_never_overwritten(binaries, data_dir):
    first = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir], env=clean_env(), log_name="a")
    first.stop()
    token_file = pathlib.Path(data_dir, "admin-token")
    key_file = pathlib.Path(data_dir, "secret-key")
    for f in (token_file, key_file):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    token, key = token_file.read_text(), key_file.read_text()
    assert "admin-token" in first.output
    assert token.strip() not in first.output, "the token itself is never logged"

    second = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir], env=clean_env(), log_name="b")
    r = requests.get(f"http://127.0.0.1:{second.port}/api/v4/projects", headers={"PRIVATE-TOKEN": token.strip()}, timeout=10)
    second.stop()
    assert r.status_code == 200
    assert token_file.read_text() == token and key_file.read_text() == key


def test_environment_secrets_are_used_and_flags_win_over_environment(binaries, data_dir):
    env = clean_env(JIRA_BRIDGE_ADMIN_TOKEN="env-admin-token-123", JIRA_BRIDGE_PORT="1", JIRA_BRIDGE_DATA_DIR=data_dir)
    p = Process([binaries["bridge"], "serve", "--port", "0"], env=env, log_name="env")
    try:
        assert p.port != 1
        r = requests.get(f"http://127.0.0.1:{p.port}/api/v4/projects", headers={"PRIVATE-TOKEN": "env-admin-token-123"}, timeout=10)
        assert r.status_code == 200
        assert not pathlib.Path(data_dir, "admin-token").exists()
    finally:
        p.stop()


def test_health_and_readiness(server):
    assert requests.get(server.url + "/-/health", timeout=10).status_code == 200
    assert requests.get(server.url + "/-/readiness", timeout=10).json() == {"status": "ok"}


def test_token_create_on_the_command_line_gives_a_working_token(binaries, server):
    r = api(server, "POST", "/api/v4/projects", json={"id": 7, "path_with_namespace": "team/app"})
    assert r.status_code == 201
    result = run(binaries, "token", "create", "--name", "ci", "--role", "maintainer", "--scope", "project",
                 "--project-id", "team/app", "--data-dir", server.data_dir)
    assert result.returncode == 0, result.stderr
    import json
    doc = json.loads(result.stdout)
    assert doc["project_id"] == 7 and doc["role"] == "maintainer"
    headers = {"PRIVATE-TOKEN": doc["token"]}
    assert requests.get(server.url + "/api/v4/projects/7", headers=headers, timeout=10).status_code == 200
    bad = run(binaries, "token", "create", "--name", "x", "--role", "admin", "--scope", "project", "--project-id", "7",
              "--data-dir", server.data_dir)
    assert bad.returncode == 64 and "--role admin requires --scope instance" in bad.stderr
    # What only the database can tell is checked there, in the API's words.
    unknown = run(binaries, "token", "create", "--name", "x", "--role", "reporter", "--scope", "project", "--project-id", "nope/nope",
                  "--data-dir", server.data_dir)
    assert unknown.returncode != 0 and "Project Not Found" in unknown.stderr, unknown.stderr
    # The API's rules, in the command's words: its flags, not the API's fields.
    past = run(binaries, "token", "create", "--name", "x", "--role", "reporter", "--expires-at", "2001-01-01", "--data-dir", server.data_dir)
    assert past.returncode == 64 and "--expires-at must be in the future" in past.stderr and "expires_at" not in past.stderr, past.stderr


def test_token_list_and_revoke_on_the_command_line(binaries, server):
    """`token list` shows every token without its secret; `token revoke ID` stops it at once; an unknown id is an
    error that says how to find the ids."""
    created = json.loads(run(binaries, "token", "create", "--name", "ci-bot", "--role", "reporter", "--data-dir", server.data_dir).stdout)
    headers = {"PRIVATE-TOKEN": created["token"]}
    assert requests.get(server.url + "/api/v4/projects", headers=headers, timeout=10).status_code == 200
    listed = run(binaries, "token", "list", "--json", "--data-dir", server.data_dir)
    assert listed.returncode == 0, listed.stderr
    tokens = json.loads(listed.stdout)
    mine = [t for t in tokens if t["id"] == created["id"]]
    assert len(mine) == 1 and mine[0]["name"] == "ci-bot" and mine[0]["role"] == "reporter"
    assert created["token"] not in listed.stdout and "token" not in mine[0]
    # Without --json, a table as `deliveries list` prints.
    table = run(binaries, "token", "list", "--data-dir", server.data_dir)
    assert table.returncode == 0 and table.stdout.splitlines()[0].split() == ["ID", "NAME", "ROLE", "SCOPE", "EXPIRES", "CREATED"], table.stdout
    row = next(line for line in table.stdout.splitlines() if line.split()[0] == str(created["id"]))
    assert row.split()[1:4] == ["ci-bot", "reporter", "instance"] and "never" in row, table.stdout
    assert created["token"] not in table.stdout and table.stdout.rstrip().endswith(f"{len(tokens)} tokens")
    revoked = run(binaries, "token", "revoke", str(created["id"]), "--data-dir", server.data_dir)
    assert revoked.returncode == 0 and f"token {created['id']} revoked" in revoked.stdout
    assert requests.get(server.url + "/api/v4/projects", headers=headers, timeout=10).status_code == 401
    assert all(t["id"] != created["id"] for t in json.loads(run(binaries, "token", "list", "--json", "--data-dir", server.data_dir).stdout))
    again = run(binaries, "token", "revoke", str(created["id"]), "--data-dir", server.data_dir)
    assert again.returncode != 0 and "no token has the id" in again.stderr and "token list" in again.stderr


def test_deliveries_list_waits_for_the_work_then_retry_requeues_what_failed(binaries, server, emulator):
    """The operator's delivery log: `deliveries list --wait` returns once the webhook's deliveries are done,
    filters by status and issue, prints JSON as the API does, and `deliveries retry` (by id or --all-failed)
    requeues failed ones, which the running server then delivers."""
    api(server, "POST", "/api/v4/projects", json={"id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop"})
    r = api(server, "PUT", "/api/v4/projects/42/integrations/jira",
            json={"active": True, "url": emulator.url, "username": "jira-bot", "password": "secret-token"})
    assert r.status_code == 200, r.text
    assert api(server, "PUT", "/api/v4/projects/42", json={"webhook_secret": "hook-secret"}).status_code == 200
    requests.post(emulator.url + "/_emulator/faults", json={"method": "POST", "path": "/comment", "status": 404, "times": 2}, timeout=10)

    def push(n, message):
        body = push_payload(n, "PROJ-1")
        body["commits"][0]["message"] = message
        r = requests.post(server.url + "/webhooks/gitlab", json=body, timeout=10,
                          headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "hook-secret"})
        assert r.status_code == 202, r.text

    push(1, "Start PROJ-1 and PROJ-2")
    listed = run(binaries, "deliveries", "list", "--project", "42", "--wait", "--data-dir", server.data_dir)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "ACTION", "ISSUE", "ATTEMPTS", "UPDATED", "SOURCE", "OR", "ERROR"]
    assert lines[-1] == "4 of 4 deliveries of acme/shop; 0 unfinished"
    assert sum(" failed " in l for l in lines) == 2 and sum(" succeeded " in l for l in lines) == 2
    assert any("error: Jira answered 404" in l for l in lines)
    assert any("https://gitlab.example.com/acme/shop/-/commit/" in l for l in lines)

    failed = json.loads(run(binaries, "deliveries", "list", "--project", "acme/shop", "--status", "failed", "--json",
                            "--data-dir", server.data_dir).stdout)
    assert len(failed) == 2 and {d["status"] for d in failed} == {"failed"} and {d["action"] for d in failed} == {"comment"}
    assert failed == api(server, "GET", "/api/v4/projects/42/integrations/jira/deliveries?status=failed").json()
    one = json.loads(run(binaries, "deliveries", "list", "--project", "42", "--issue", "proj-2", "--json", "--data-dir", server.data_dir).stdout)
    assert {d["issue_key"] for d in one} == {"PROJ-2"} and len(one) == 2
    bad = run(binaries, "deliveries", "list", "--project", "42", "--status", "lost", "--data-dir", server.data_dir)
    assert bad.returncode == 64 and "status must be one of pending, running, succeeded, skipped, failed, dead" in bad.stderr
    missing = run(binaries, "deliveries", "list", "--project", "99", "--data-dir", server.data_dir)
    assert missing.returncode == 64 and "no project '99'" in missing.stderr

    # By id: a failed one is requeued; a succeeded one and an unknown id are refused (exit 1), and say why.
    succeeded = next(d for d in json.loads(run(binaries, "deliveries", "list", "--project", "42", "--json", "--data-dir", server.data_dir).stdout)
                     if d["status"] == "succeeded")
    retried = run(binaries, "deliveries", "retry", "--project", "42", str(failed[0]["id"]), str(succeeded["id"]), "999999",
                  "--data-dir", server.data_dir)
    assert retried.returncode == 1
    assert f"delivery {failed[0]['id']} requeued" in retried.stdout
    assert f"delivery {succeeded['id']}: Only failed, dead or paused deliveries can be retried; this one is succeeded." in retried.stderr
    assert "no delivery 999999 in acme/shop" in retried.stderr
    # All at once.
    everything = run(binaries, "deliveries", "retry", "--project", "42", "--all-failed", "--data-dir", server.data_dir)
    assert everything.returncode == 0 and everything.stdout.strip() == "requeued 1 failed or dead deliveries", everything.stdout
    done = run(binaries, "deliveries", "list", "--project", "42", "--wait", "--json", "--data-dir", server.data_dir)
    assert done.returncode == 0, done.stderr
    assert {d["status"] for d in json.loads(done.stdout)} == {"succeeded"}
    for key in ("PROJ-1", "PROJ-2"):
        assert len(requests.get(f"{emulator.url}/_emulator/issues/{key}", timeout=10).json()["comments"]) == 1

    # --wait gives up after --timeout while Jira keeps failing, with exit status 1.
    requests.post(emulator.url + "/_emulator/faults", json={"method": "POST", "path": "/comment", "status": 503, "times": 1000}, timeout=10)
    push(2, "More on PROJ-3")
    waited = run(binaries, "deliveries", "list", "--project", "42", "--wait", "--timeout", "1", "--data-dir", server.data_dir)
    assert waited.returncode == 1, waited.stderr
    assert "still unfinished after 1 s" in waited.stderr


def test_prune_removes_old_succeeded_deliveries_and_keeps_failed_ones(binaries, data_dir):
    """`jira-bridge prune`: deliveries that succeeded more than --retention-days ago go with their events; a failed
    one and everything recent stay. A retention that is no number of days is refused before anything is touched."""
    import sqlite3
    assert run(binaries, "migrate", "--data-dir", data_dir).returncode == 0
    db = sqlite3.connect(pathlib.Path(data_dir, "jira-bridge.sqlite"))
    now = int(time.time() * 1000)
    day = 86_400_000
    rows = [("old-ok", now - 40 * day, "succeeded"), ("old-failed", now - 40 * day, "failed"), ("new-ok", now - 1 * day, "succeeded")]
    for event, at, status in rows:
        db.execute("INSERT INTO events (id, forge, project_id, kind, status, received_at) VALUES (?, 'gitlab', 1, 'push', 'planned', ?)", (event, at))
        db.execute("INSERT INTO event_payloads (event_id, payload) VALUES (?, '{}')", (event,))
        db.execute("""INSERT INTO deliveries (event_id, project_id, site, issue_key, action, dedupe_key, work, status, attempts,
                      next_run_at, created_at, updated_at) VALUES (?, 1, 'https://jira.example.com', 'PROJ-1', 'comment', ?, '{}', ?, 1, ?, ?, ?)""",
                   (event, event, status, at, at, at))
    db.commit()
    bad = run(binaries, "prune", "--retention-days", "1e400", "--data-dir", data_dir)
    assert bad.returncode != 0 and "--retention-days" in bad.stderr
    result = run(binaries, "prune", "--retention-days", "30", "--data-dir", data_dir)
    assert result.returncode == 0, result.stderr
    assert "removed 1 deliveries and 1 events" in result.stdout
    assert [r[0] for r in db.execute("SELECT event_id FROM deliveries ORDER BY event_id")] == ["new-ok", "old-failed"]
    assert [r[0] for r in db.execute("SELECT id FROM events ORDER BY id")] == ["new-ok", "old-failed"]
    assert "removed 0 deliveries" in run(binaries, "prune", "--data-dir", data_dir).stdout  # the default, 30 days
    db.close()


def test_sigterm_lets_in_flight_requests_finish(binaries, server, emulator):
    api(server, "POST", "/api/v4/projects", json={"id": 42, "path_with_namespace": "acme/shop"})
    r = api(server, "PUT", "/api/v4/projects/42/integrations/jira",
            json={"url": emulator.url, "username": "jira-bot", "password": "secret-token", "active": True})
    assert r.status_code == 200, r.text
    requests.post(emulator.url + "/_emulator/faults", json={"path": "/myself", "delay_ms": 1500}, timeout=10)
    result = {}

    def slow_request():
        result["response"] = api(server, "POST", "/api/v4/projects/42/integrations/jira/test")

    t = threading.Thread(target=slow_request)
    t.start()
    time.sleep(0.5)
    server.proc.send_signal(signal.SIGTERM)
    t.join(timeout=30)
    assert server.proc.wait(timeout=30) == 0
    assert result["response"].status_code == 200
    assert result["response"].json()["success"] is True
    assert "jira-bridge stopped" in server.output


def test_migrate_command(binaries, data_dir):
    result = run(binaries, "migrate", "--data-dir", data_dir)
    assert result.returncode == 0, result.stderr
    assert pathlib.Path(data_dir, "jira-bridge.sqlite").exists()


def test_keys_jsonl_output_is_unchanged_on_the_corpus_sample(binaries):
    """`keys --jsonl` on 1,500 commit messages of the corpus (Tests/IntegrationTests/Fixtures) prints what it
    printed before its input reader was rewritten (fixtures/keys-expected.jsonl, written by that build)."""
    root = pathlib.Path(__file__).resolve().parents[1]
    sample = (root / "Tests/IntegrationTests/Fixtures/commit-messages-sample.jsonl").read_bytes()
    expected = (root / "python-tests/fixtures/keys-expected.jsonl").read_text()
    result = subprocess.run([binaries["bridge"], "keys", "--jsonl"], input=sample, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == expected


def test_keys_jsonl_output_is_unchanged_on_the_whole_corpus(binaries):
    """All 23,792 commit messages of the corpus (fixtures/corpus, gzipped): `keys --jsonl` prints, line for
    line, what the build before the lean member reader printed (fixtures/corpus/keys-expected.jsonl.gz)."""
    corpus = pathlib.Path(__file__).resolve().parent / "fixtures" / "corpus"
    text = b"".join(gzip.decompress((corpus / f"{name}-commit-messages.jsonl.gz").read_bytes()) for name in ("apache-kafka", "apache-commons-lang"))
    assert text.count(b"\n") == 23792
    expected = gzip.decompress((corpus / "keys-expected.jsonl.gz").read_bytes()).decode().splitlines()
    result = subprocess.run([binaries["bridge"], "keys", "--jsonl"], input=text, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.decode().splitlines()
    assert len(lines) == len(expected) == 23792
    differing = [i for i, (a, b) in enumerate(zip(lines, expected)) if a != b]
    assert differing == [], f"{len(differing)} lines differ, the first: {lines[differing[0]]!r} != {expected[differing[0]]!r}"


def test_keys_jsonl_edge_cases_are_unchanged(binaries):
    """Lines the corpus does not have (fixtures/keys-edge-cases.jsonl): blank lines, documents that are no
    object, a message that is no string, repeated names (the last counts), invalid UTF-8 and surrogates,
    trailing text and commas, a missing final newline. Output, errors and exit status are the earlier build's."""
    fixtures = pathlib.Path(__file__).resolve().parent / "fixtures"
    result = subprocess.run([binaries["bridge"], "keys", "--jsonl"], input=(fixtures / "keys-edge-cases.jsonl").read_bytes(),
                            capture_output=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout == (fixtures / "keys-edge-cases-expected.jsonl").read_bytes()
    assert result.stderr == (fixtures / "keys-edge-cases-expected.err").read_bytes()


def test_keys_jsonl_reads_a_line_longer_than_its_buffer(binaries):
    """The input is read in 1 MB blocks: a 3 MB message between two short lines is read whole."""
    long_message = "x" * 3_000_000 + " PROJ-2 " + "y" * 100
    text = "\n".join(json.dumps(d) for d in [{"id": "a", "message": "PROJ-1"}, {"id": "b", "message": long_message},
                                              {"id": "c", "message": "Closes PROJ-3"}]) + "\n"
    result = subprocess.run([binaries["bridge"], "keys", "--jsonl"], input=text.encode(), capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [json.loads(l) for l in result.stdout.decode().splitlines()] == [
        {"id": "a", "mentions": ["PROJ-1"], "closes": []}, {"id": "b", "mentions": ["PROJ-2"], "closes": []},
        {"id": "c", "mentions": [], "closes": ["PROJ-3"]}]


def test_keys_jsonl_keeps_order_and_line_numbers_across_blocks_and_parts(binaries):
    """Blocks of 4 MB are cut into one part per core: over 12 MB of lines with unreadable ones spread through
    them, the output is in input order and every error names its own line."""
    lines, bad = [], []
    for i in range(60_000):
        if i % 997 == 5:
            lines.append("not json")
            bad.append(i + 1)
        else:
            lines.append(json.dumps({"id": i, "message": f"Change {i} for PROJ-{i}\n\n" + "x" * 180}))
    result = subprocess.run([binaries["bridge"], "keys", "--jsonl"], input="\n".join(lines).encode(), capture_output=True, timeout=120)
    assert result.returncode == 1
    assert [json.loads(l)["id"] for l in result.stdout.decode().splitlines()] == [i for i in range(60_000) if (i + 1) not in bad]
    assert re.findall(r"line (\d+):", result.stderr.decode()) == [str(n) for n in bad]


def stalled_webhook(port):
    """A socket that sends a webhook's headers and one byte of its 1,000-byte body, then nothing."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /webhooks/gitlab HTTP/1.1\r\nHost: x\r\nX-Gitlab-Event: Push Hook\r\nX-Gitlab-Token: hook-secret\r\n"
              b"Content-Length: 1000\r\n\r\n{")
    return s


@pytest.mark.parametrize("env, bound", [
    # The stop's own limit, with a body deadline far beyond it.
    ({"JIRA_BRIDGE_SHUTDOWN_TIMEOUT_SECONDS": "1", "JIRA_BRIDGE_BODY_TIMEOUT_SECONDS": "3600"}, 15),
    # The defaults: 30 s for the stop, 30 s for a body.
    ({}, 50),
])
def test_sigterm_is_not_held_by_a_stalled_body(binaries, data_dir, env, bound):
    p = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir],
                env=clean_env(JIRA_BRIDGE_WEBHOOK_SECRET="hook-secret", **env), log_name="bridge")
    try:
        s = stalled_webhook(p.port)
        time.sleep(0.5)  # as the test above: the request reaches its handler before the stop
        started = time.time()
        p.proc.send_signal(signal.SIGTERM)
        assert p.proc.wait(timeout=bound) == 0
        assert "jira-bridge stopped" in p.output
        print(f"stopped {time.time() - started:.1f} s after SIGTERM")
        s.close()
    finally:
        p.stop()


@pytest.mark.parametrize("token, warned", [("a", True), ("x" * 32, False)])
def test_a_short_admin_token_is_warned_about(binaries, data_dir, token, warned):
    p = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir],
                env=clean_env(JIRA_BRIDGE_ADMIN_TOKEN=token), log_name="bridge")
    try:
        assert ("the admin token is shorter than 16 characters" in p.output) == warned
        if len(token) > 1:
            assert token not in p.output, "the token itself is never logged"
    finally:
        p.stop()


def test_serve_help_names_every_environment_variable(binaries):
    # Every JIRA_BRIDGE_ and OTEL_ variable the server reads is in `serve --help`, flag or not.
    names = set()
    for source in list((ROOT / "Sources" / "jira-bridge").glob("*.swift")) + list((ROOT / "Sources" / "Server").rglob("*.swift")):
        names |= set(re.findall(r"(?:JIRA_BRIDGE|OTEL)_[A-Z_]+", source.read_text()))
    out = subprocess.run([binaries["bridge"], "serve", "--help"], capture_output=True, text=True, env=clean_env(), timeout=30)
    assert out.returncode == 0
    missing = sorted(n for n in names if n not in out.stdout)
    assert not missing, f"serve --help leaves out {missing}"


def test_check_config_checks_everything_and_changes_nothing(binaries, data_dir):
    target = pathlib.Path(data_dir, "fresh")
    out = subprocess.run([binaries["bridge"], "serve", "--check-config", "--data-dir", str(target), "--port", "0"],
                         capture_output=True, text=True, env=clean_env(JIRA_BRIDGE_WEBHOOK_SECRET="s3cret-value"), timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("configuration OK") and "worker_concurrency: 32" in out.stdout, out.stdout
    assert "webhook_secret_set: true" in out.stdout and "s3cret-value" not in out.stdout, "whether a secret is set, never the secret"
    assert "does not exist yet" in out.stdout and not target.exists(), "nothing is created"
    bad = subprocess.run([binaries["bridge"], "serve", "--check-config", "--data-dir", str(target), "--port", "0"],
                         capture_output=True, text=True, env=clean_env(JIRA_BRIDGE_SITE_CONCURRENCY="0"), timeout=30)
    assert bad.returncode == 64 and "JIRA_BRIDGE_SITE_CONCURRENCY must be a whole number from 1 to 1024" in bad.stderr, bad.stderr


def test_serve_warns_about_a_wildcard_public_url_and_the_open_outbound_guard(binaries, data_dir):
    p = Process([binaries["bridge"], "serve", "--port", "0", "--host", "0.0.0.0", "--data-dir", data_dir, "--allow-local-requests"],
                env=clean_env(), log_name="warnings")
    try:
        log = p.output
        assert "settings in effect" in log and "worker_concurrency=32" in log, log
        assert "the links written into Jira would start with http://0.0.0.0:PORT" in log, log
        assert "the outbound guard is off for local addresses" in log, log
        assert pathlib.Path(data_dir, "admin-token").read_text().strip() not in log
    finally:
        p.stop()
