"""The contract check: every Jira request the Swift tests sent passes Atlassian's OpenAPI spec."""
import glob
import os

import pytest

from contract_check import read_records, violations


def recorded_files():
    directory = os.environ.get("JIRA_BRIDGE_CONTRACT_DIR")
    if not directory:
        pytest.skip("JIRA_BRIDGE_CONTRACT_DIR is not set (run through scripts/test)")
    return sorted(glob.glob(os.path.join(directory, "*.jsonl")))


def test_every_recorded_jira_request_matches_the_openapi_spec():
    records = read_records(recorded_files())
    # The Swift suites call every client method; far fewer records means the recording broke.
    assert len(records) >= 50, f"only {len(records)} Jira requests were recorded"
    bad = violations(records)
    report = "\n".join(f"{r['method']} {r['path']}?{r.get('query', '')} {r.get('body') or ''}: {msg}" for r, msg in bad[:20])
    assert not bad, f"{len(bad)} of {len(records)} requests break the contract:\n{report}"


def test_every_client_call_is_covered_by_the_recording():
    records = read_records(recorded_files())
    def template(path):
        parts = path.split("/")  # ["", "rest", "api", "2", "issue", KEY, "remotelink", ID]
        if len(parts) == 9 and parts[5] == "createmeta":  # issue/createmeta/{project}/issuetypes/{type}
            parts[6] = parts[8] = "{}"
        elif len(parts) > 5 and parts[4] == "issue":
            parts[5] = "{}"
        if len(parts) > 7 and parts[6] == "remotelink":
            parts[7] = "{}"
        return "/".join(parts)

    seen = {(r["method"], template(r["path"])) for r in records}
    expected = {
        ("GET", "/rest/api/2/serverInfo"), ("GET", "/rest/api/2/myself"), ("GET", "/rest/api/2/issue/{}"),
        ("GET", "/rest/api/2/issue/{}/comment"), ("POST", "/rest/api/2/issue/{}/comment"),
        ("GET", "/rest/api/2/issue/{}/remotelink"), ("POST", "/rest/api/2/issue/{}/remotelink"),
        ("PUT", "/rest/api/2/issue/{}/remotelink/{}"), ("GET", "/rest/api/2/issue/{}/transitions"),
        ("POST", "/rest/api/2/issue/{}/transitions"), ("GET", "/rest/api/2/project/PROJ"), ("GET", "/rest/api/2/issuetype"),
        ("POST", "/rest/api/2/issue"), ("GET", "/rest/api/2/search"), ("GET", "/rest/api/3/search/jql"),
        ("GET", "/rest/api/2/issue/createmeta/{}/issuetypes/{}"),
    }
    missing = expected - seen
    assert not missing, f"client calls never exercised: {sorted(missing)}"


def test_every_gateway_request_matches_jira_softwares_spec():
    """The Development panel's requests (Atlassian's gateway for OAuth credentials) are checked against Jira
    Software's spec, under the paths the spec writes."""
    records = [r for r in read_records(recorded_files()) if r["path"].startswith("/jira/")]
    assert records, "no request to the gateway was recorded"
    bad = violations(records)
    report = "\n".join(f"{r['method']} {r['path']} {r.get('body') or ''}: {msg}" for r, msg in bad[:10])
    assert not bad, report


def test_the_checker_flags_a_gateway_request_that_breaks_the_spec():
    base = "/jira/devinfo/0.1/cloud/4a1d9e2c-7b3f-4c8e-9d21-6f0a5b7c3e19"
    good = {"method": "POST", "path": base + "/bulk", "query": "", "contentType": "application/json", "authScheme": "Bearer",
            "body": '{"repositories": [{"id": "gitlab-1", "name": "a/b", "url": "https://g/a/b", "updateSequenceId": 1}]}'}
    assert violations([good]) == []
    no_url = dict(good, body='{"repositories": [{"id": "gitlab-1", "name": "a/b", "updateSequenceId": 1}]}')
    bad_status = dict(good, body='{"repositories": [{"id": "g", "name": "a", "url": "https://g", "updateSequenceId": 1, "pullRequests": '
                                 '[{"id": "1", "issueKeys": ["A-1"], "updateSequenceId": 1, "status": "DRAFT", "title": "t", "author": {"name": "n"}, '
                                 '"commentCount": 0, "displayId": "#1", "lastUpdate": "2024-01-01T00:00:00Z", "sourceBranch": "b", "url": "https://g/1"}]}]}')
    wrong_type = {"method": "DELETE", "path": base + "/repository/gitlab-1/tag/v1", "query": "", "contentType": None, "authScheme": "Bearer",
                  "body": None}
    assert len(violations([no_url, bad_status, wrong_type])) == 3


def test_the_checker_flags_a_request_that_breaks_the_spec():
    bad = [
        {"method": "POST", "path": "/rest/api/2/issue/PROJ-1/transitions", "query": "", "contentType": "application/json",
         "body": '{"transition": "31"}'},
        {"method": "GET", "path": "/rest/api/2/search", "query": "startAt=abc", "contentType": None, "body": None},
        {"method": "PATCH", "path": "/rest/api/2/myself", "query": "", "contentType": None, "body": None},
    ]
    assert len(violations(bad)) == 3


def test_every_recorded_forge_request_matches_the_forges_api():
    from contract_check import forge_violations

    records = [r for r in read_records(recorded_files()) if r["path"].startswith("/forge/")]
    # The Swift suites set statuses on all three forges.
    for forge in ("gitlab", "github", "gitea"):
        assert any(r["path"].startswith(f"/forge/{forge}/") for r in records), f"no request to {forge} was recorded"
    bad = forge_violations(records)
    report = "\n".join(f"{r['method']} {r['path']} {r.get('body') or ''}: {msg}" for r, msg in bad[:20])
    assert not bad, f"{len(bad)} of {len(records)} forge requests break the contract:\n{report}"


def test_a_request_that_breaks_a_forges_api_is_caught():
    # The check can fail: one bad request per forge.
    from contract_check import forge_violations

    bad = [
        {"method": "POST", "path": "/forge/gitlab/api/v4/projects/42/statuses/abc", "body": '{"state": "failure"}'},
        {"method": "POST", "path": "/forge/github/repos/o/r/statuses/abc", "body": '{"state": "failed"}', "contentType": "application/json"},
        {"method": "POST", "path": "/forge/gitea/api/v1/repos/o/r/statuses/abc", "body": '{"state": 3}'},
    ]
    assert len(forge_violations(bad)) == 3


def test_the_forge_emulators_answer_in_the_forges_shapes(emulator):
    # The emulator's answers, checked against the same descriptions, so that the client is tested against real shapes.
    import json as json_module

    import jsonschema
    import requests
    from openapi_schema_validator import OAS30Validator

    from contract_check import forge_specs, gitea_schema

    github, gitea = forge_specs()
    headers = {"Authorization": "Bearer forge-token", "Content-Type": "application/json"}
    body = json_module.dumps({"state": "success", "context": "jira-bridge/jira-issue", "description": "ok", "target_url": "https://x.test/c"})
    sha = "a" * 40

    r = requests.post(f"{emulator.url}/forge/github/repos/o/r/statuses/{sha}", data=body, headers=headers, timeout=10)
    assert r.status_code == 201
    schema = github["paths"]["/repos/{owner}/{repo}/statuses/{sha}"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    resolver = {"components": github["components"]}
    OAS30Validator({**schema, **resolver}).validate(r.json())

    r = requests.post(f"{emulator.url}/forge/gitea/api/v1/repos/o/r/statuses/{sha}", data=body, headers=headers, timeout=10)
    assert r.status_code == 201
    jsonschema.validate(r.json(), gitea_schema(gitea, "CommitStatus"))
    assert r.json()["status"] == "success"

    gitlab_body = json_module.dumps({"state": "failed", "name": "jira-bridge/jira-issue", "description": "no"})
    r = requests.post(f"{emulator.url}/forge/gitlab/api/v4/projects/42/statuses/{sha}", data=gitlab_body, headers=headers, timeout=10)
    assert r.status_code == 201
    # The keys of GitLab's documented example response (doc/api/commits.md).
    assert set(r.json()) >= {"author", "name", "sha", "status", "coverage", "description", "id", "target_url", "ref", "started_at",
                             "created_at", "allow_failure", "finished_at"}
    assert r.json()["status"] == "failed" and r.json()["name"] == "jira-bridge/jira-issue"

    # A wrong token is each forge's 401.
    for path in (f"/forge/github/repos/o/r/statuses/{sha}", f"/forge/gitlab/api/v4/projects/42/statuses/{sha}"):
        r = requests.post(emulator.url + path, data=body, headers={**headers, "Authorization": "Bearer nope"}, timeout=10)
        assert r.status_code == 401
