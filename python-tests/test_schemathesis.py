"""Schemathesis (PyPI) fuzzes the running server from docs/openapi.yaml, as served at /api/v4/openapi.yaml, for a
bounded time (JIRA_BRIDGE_SCHEMATHESIS_SECONDS, 120 by default): every answer must be documented (status, content
type and schema) and none a server error (500, 503; 502 is the documented "Jira failed"). Project 42 is registered
with an active integration against the Jira emulator, so the examples reach past 404. The server must still be
healthy afterwards, and its log must show no request that failed inside it."""
import os
import pathlib
import subprocess
import sys

import requests

from conftest import api

CONFIG = pathlib.Path(__file__).resolve().parent / "schemathesis.toml"


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(server, emulator, tmp_path):
    assert api(server, "POST", "/api/v4/projects", json={
        "id": 42, "path_with_namespace": "acme/web/shop", "web_url": "https://gitlab.example.com/acme/web/shop"}).status_code == 201
    assert api(server, "PUT", "/api/v4/projects/42/integrations/jira", json={
        "active": True, "url": emulator.url, "username": "jira-bot", "password": "secret-token", "issues_enabled": True,
        "vulnerabilities_enabled": True, "project_key": "PROJ", "vulnerabilities_issuetype": "10001"}).status_code == 200
    seconds = os.environ.get("JIRA_BRIDGE_SCHEMATHESIS_SECONDS", "120")
    cli = pathlib.Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [str(cli), "--config-file", str(CONFIG), "run", f"{server.url}/api/v4/openapi.yaml",
         "-H", f"PRIVATE-TOKEN: {server.admin_token}",
         "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
         "--max-time", seconds, "--max-examples", "30", "--workers", "2", "--seed", "31",
         "--report", "junit", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=int(seconds) * 3 + 120)
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary + result.stderr[-2000:]
    assert "Selected: " in result.stdout and " generated" in result.stdout, summary
    # The fuzzed server still answers, and nothing failed inside it.
    assert requests.get(server.url + "/-/readiness", timeout=10).status_code == 200
    assert "request failed" not in server.output, [l for l in server.output.splitlines() if "request failed" in l][:5]
