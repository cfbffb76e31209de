"""`/metrics` and the shipped alert rules, checked by Prometheus' own `promtool` (Debian package prometheus,
which .ci/run installs; JIRA_BRIDGE_REQUIRE_PROMTOOL=1 there makes a missing promtool a failure, not a skip)."""
import os
import pathlib
import shutil
import subprocess
import time

import pytest
import requests

from conftest import Process, api, clean_env, push_payload

ROOT = pathlib.Path(__file__).resolve().parents[1]


def promtool():
    path = shutil.which("promtool")
    if not path:
        if os.environ.get("JIRA_BRIDGE_REQUIRE_PROMTOOL") == "1":
            pytest.fail("promtool is not installed (Debian package prometheus)")
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return path


def wait_for_metrics(server, wanted, timeout=30):
    """The exposition once it has every line of `wanted` (asserted)."""
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = requests.get(server.url + "/metrics", timeout=10).text
        if all(w in text for w in wanted):
            return text
        time.sleep(0.2)
    missing = [w for w in wanted if w not in text]
    assert not missing, (missing, text)
    return text


def test_metrics_pass_promtool_with_every_family_present(binaries, data_dir, emulator):
    """After webhooks (accepted, duplicate, refused), deliveries and claims, every family has HELP and TYPE and the
    exposition passes `promtool check metrics`."""
    tool = promtool()
    server = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir, "--allow-local-requests"],
                     env=clean_env(JIRA_BRIDGE_WEBHOOK_SECRET="metrics-secret"), log_name="bridge")
    try:
        server.url = f"http://127.0.0.1:{server.port}"
        server.admin_token = pathlib.Path(data_dir, "admin-token").read_text().strip()
        assert api(server, "POST", "/api/v4/projects", json={"id": 42, "path_with_namespace": "acme/shop",
                                                             "web_url": "https://gitlab.example.com/acme/shop"}).status_code == 201
        assert api(server, "PUT", "/api/v4/projects/42/integrations/jira",
                   json={"active": True, "url": emulator.url, "username": "jira-bot", "password": "secret-token"}).status_code == 200
        hook = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "metrics-secret", "Idempotency-Key": "m-1"}
        for _ in range(2):  # accepted, then a duplicate
            assert requests.post(server.url + "/webhooks/gitlab", json=push_payload(1, "PROJ-1"), headers=hook, timeout=30).status_code == 202
        assert requests.post(server.url + "/webhooks/gitlab", json={}, headers={**hook, "X-Gitlab-Token": "wrong"}, timeout=30).status_code == 401
        deadline = time.time() + 30
        text = ""
        while time.time() < deadline:
            text = requests.get(server.url + "/metrics", timeout=10).text
            if text.count('outcome="succeeded"') == 2 and "jira_bridge_queue_claim_duration_seconds_count" in text:
                break
            time.sleep(0.2)
        assert f'jira_bridge_deliveries_total{{site="{emulator.url}",action="comment",outcome="succeeded"}} 1' in text, text
        # Jira fails a comment, so a delivery waits for its retry: the queue's age for the site shows.
        requests.post(emulator.url + "/_emulator/faults", json={"method": "POST", "path": "/comment", "status": 503, "times": 1000}, timeout=10)
        assert requests.post(server.url + "/webhooks/gitlab", json=push_payload(2, "PROJ-2"), headers={**hook, "Idempotency-Key": "m-2"},
                             timeout=30).status_code == 202
        deadline = time.time() + 30
        while time.time() < deadline:
            text = requests.get(server.url + "/metrics", timeout=10).text
            if f'jira_bridge_queue_oldest_age_seconds{{site="{emulator.url}"}}' in text and 'outcome="retry"' in text:
                break
            time.sleep(0.2)
        assert f'jira_bridge_queue_oldest_age_seconds{{site="{emulator.url}"}}' in text, text
        # Jira rate limits writes to an issue (that issue is held, the site's limit cut), then the token expires:
        # the holds' families show too.
        requests.post(emulator.url + "/_emulator/faults", json={"method": "GET", "path": "/PROJ-3/remotelink", "status": 429, "retry_after": 600,
                                                               "headers": {"RateLimit-Reason": "jira-per-issue-on-write"}}, timeout=10)
        assert requests.post(server.url + "/webhooks/gitlab", json=push_payload(3, "PROJ-3"), headers={**hook, "Idempotency-Key": "m-3"},
                             timeout=30).status_code == 202
        wait_for_metrics(server, [f'jira_bridge_rate_limit_holds{{site="{emulator.url}",scope="issue"}} 1',
                                  f'jira_bridge_site_concurrency_limit{{site="{emulator.url}"}} 2'])
        requests.post(emulator.url + "/_emulator/users/jira-bot/credentials", json={"expire_after_requests": 0}, timeout=10)
        assert requests.post(server.url + "/webhooks/gitlab", json=push_payload(4, "PROJ-4"), headers={**hook, "Idempotency-Key": "m-4"},
                             timeout=30).status_code == 202
        text = wait_for_metrics(server, [f'jira_bridge_credentials_rejected{{site="{emulator.url}"}} 1',
                                         f'jira_bridge_deliveries_paused{{site="{emulator.url}"}} 2'])
        for family in ["jira_bridge_webhooks_total", "jira_bridge_deliveries_total", "jira_bridge_jira_request_duration_seconds",
                       "jira_bridge_queue_depth", "jira_bridge_queue_claim_duration_seconds", "jira_bridge_ready",
                       "jira_bridge_queue_oldest_age_seconds", "jira_bridge_build_info", "jira_bridge_credentials_rejected",
                       "jira_bridge_deliveries_paused", "jira_bridge_rate_limit_holds", "jira_bridge_site_concurrency_limit"]:
            assert f"# HELP {family} " in text and f"# TYPE {family} " in text, family
        assert "jira_bridge_ready 1" in text
        result = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        server.stop()


def test_alert_rules_pass_promtool():
    """docs/prometheus-alerts.yml: queue stuck, queue old, failure rate, dead deliveries, not ready, down."""
    result = subprocess.run([promtool(), "check", "rules", str(ROOT / "docs" / "prometheus-alerts.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout
