"""The jira-bridge command: startup errors, generated files, tokens, graceful shutdown."""
import gzip
import json
import os
import pathlib
import re
import signal
import stat
import subprocess
import threading
import time

import pytest
import requests

from conftest import Process, api, clean_env


def run(binaries, *args, env=None):
    return subprocess.run([binaries["bridge"], *args], capture_output=True, text=True, env=env or clean_env(), timeout=60)


@pytest.mark.parametrize("args,env,expected", [
    (["serve", "--port", "abc"], {}, "invalid port 'abc'"),
    (["serve", "--port", "70000"], {}, "invalid port '70000'"),
    (["serve", "--nope"], {}, "Unknown option '--nope'"),
    (["serve"], {"JIRA_BRIDGE_LOG_LEVEL": "loud"}, "invalid log level 'loud'"),
    (["serve"], {"JIRA_BRIDGE_PORT": "-1"}, "invalid port '-1'"),
    (["serve"], {"JIRA_BRIDGE_SECRET_KEY": "c2hvcnQ="}, "must be the base64 text of 32 bytes"),
    (["serve"], {"JIRA_BRIDGE_ALLOW_LOCAL_REQUESTS": "maybe"}, "JIRA_BRIDGE_ALLOW_LOCAL_REQUESTS must be true or false"),
    (["serve", "--database-url", "mysql://x"], {}, "invalid database URL 'mysql://x'"),
    (["serve", "--public-url", "gitlab.example.com"], {}, "invalid public URL"),
])
def test_a_bad_flag_or_value_exits_non_zero_with_one_clear_line(binaries, data_dir, args, env, expected):
    result = run(binaries, *args, "--data-dir", data_dir, env=clean_env(**env))
    assert result.returncode != 0
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize("url,expected", [
    ("postgres://jb:hunter2@127.0.0.1:1/x?sslmode=disable", "cannot connect to PostgreSQL at postgres://jb@127.0.0.1:1/x?sslmode=disable: Connection refused"),
    ("postgres://jb:hunter2@db/x?pool_size=0", "pool_size"),
    ("postgres://jb:hunter2@db/x?sslmode=sometimes", "sslmode"),
])
def test_a_bad_or_unreachable_postgres_url_is_one_line_and_touches_nothing(binaries, tmp_path, url, expected):
    target = tmp_path / "never-created"
    for command in (["serve"], ["migrate"], ["token", "create", "--name", "x", "--role", "admin"]):
        result = run(binaries, *command, "--data-dir", str(target), "--database-url", url)
        assert result.returncode == 2, result.stderr
        lines = [l for l in result.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and expected in lines[0], result.stderr
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
    assert bad.returncode != 0 and "role admin requires scope instance" in bad.stderr


def test_token_list_and_revoke_on_the_command_line(binaries, server):
    """`token list` shows every token without its secret; `token revoke ID` stops it at once; an unknown id is an
    error that says how to find the ids."""
    created = json.loads(run(binaries, "token", "create", "--name", "ci-bot", "--role", "reporter", "--data-dir", server.data_dir).stdout)
    headers = {"PRIVATE-TOKEN": created["token"]}
    assert requests.get(server.url + "/api/v4/projects", headers=headers, timeout=10).status_code == 200
    listed = run(binaries, "token", "list", "--data-dir", server.data_dir)
    assert listed.returncode == 0, listed.stderr
    tokens = json.loads(listed.stdout)
    mine = [t for t in tokens if t["id"] == created["id"]]
    assert len(mine) == 1 and mine[0]["name"] == "ci-bot" and mine[0]["role"] == "reporter"
    assert created["token"] not in listed.stdout and "token" not in mine[0]
    revoked = run(binaries, "token", "revoke", str(created["id"]), "--data-dir", server.data_dir)
    assert revoked.returncode == 0 and f"token {created['id']} revoked" in revoked.stdout
    assert requests.get(server.url + "/api/v4/projects", headers=headers, timeout=10).status_code == 401
    assert all(t["id"] != created["id"] for t in json.loads(run(binaries, "token", "list", "--data-dir", server.data_dir).stdout))
    again = run(binaries, "token", "revoke", str(created["id"]), "--data-dir", server.data_dir)
    assert again.returncode != 0 and "no token has the id" in again.stderr and "token list" in again.stderr


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
    root = pathlib.Path(__file__).resolve().parents[2]
    sample = (root / "Tests/IntegrationTests/Fixtures/commit-messages-sample.jsonl").read_bytes()
    expected = (root / "tests/python/fixtures/keys-expected.jsonl").read_text()
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
