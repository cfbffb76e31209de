"""The contract check: every Jira request the Swift tests sent passes Atlassian's OpenAPI spec."""
import glob
import json
import pathlib
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
        ("GET", "/rest/api/2/issue/{}/worklog"), ("POST", "/rest/api/2/issue/{}/worklog"),
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
    # The Swift suites set statuses and backfill on all three forges.
    for forge in ("gitlab", "github", "gitea"):
        assert any(r["path"].startswith(f"/forge/{forge}/") and r["method"] == "POST" for r in records), f"no status set on {forge}"
        assert any(r["path"].startswith(f"/forge/{forge}/") and r["method"] == "GET" for r in records), f"no list read on {forge}"
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
        {"method": "GET", "path": "/forge/gitlab/api/v4/projects/42/merge_requests", "query": "state=everything"},
        {"method": "GET", "path": "/forge/gitlab/api/v4/projects/42/repository/branches", "query": "per_page=500"},
        {"method": "GET", "path": "/forge/github/repos/o/r/pulls", "query": "sort=newest"},
        {"method": "GET", "path": "/forge/gitea/api/v1/repos/o/r/pulls", "query": "per_page=50"},
        {"method": "POST", "path": "/forge/gitlab/api/v4/projects/42/repository/branches", "body": '{"name": "x", "ref": "main"}'},
        {"method": "POST", "path": "/forge/github/repos/o/r/git/refs", "body": '{"ref": "heads/x", "sha": "' + "a" * 40 + '"}'},
        {"method": "POST", "path": "/forge/gitea/api/v1/repos/o/r/branches", "body": '{"old_ref_name": "main"}'},
        {"method": "GET", "path": "/forge/gitlab/api/v4/projects/42/hooks/7/events", "query": "since=2026-01-01"},
        {"method": "GET", "path": "/forge/github/repos/o/r/hooks/7/deliveries", "query": "per_page=many"},
        {"method": "GET", "path": "/forge/gitea/api/v1/repos/o/r/commits", "query": "stat=maybe"},
    ]
    assert len(forge_violations(bad)) == 13, forge_violations(bad)


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


def test_the_forge_emulators_lists_answer_in_the_forges_shapes(emulator):
    # The lists a backfill reads (pull requests, branches, GitHub's commits), checked against the forges' descriptions:
    # the GitHub and Gitea items are a real webhook's pull request with the emulator's values in place.
    import jsonschema
    import requests
    from openapi_schema_validator import OAS30Validator

    from contract_check import forge_specs, gitea_schema

    fixtures = pathlib.Path(__file__).resolve().parents[1] / "Tests" / "ServerTests" / "Fixtures"
    github, gitea = forge_specs()
    headers = {"Authorization": "Bearer forge-token"}
    templates = {"github": json.loads((fixtures / "github" / "pull_request.opened.json").read_text())["pull_request"],
                 "gitea": json.loads((fixtures / "gitea" / "pull_request_opened.json").read_text())["pull_request"]}
    for forge, project in (("github", "o/r"), ("gitea", "o/r"), ("gitlab", "42")):
        seed = {"forge": forge, "project": project, "merge_requests": 12, "branches": 5, "keys": ["PROJ-1"]}
        if forge in templates:
            seed["pull_request_template"] = templates[forge]
        assert requests.post(emulator.url + "/_emulator/forge/repositories", json=seed, timeout=10).status_code == 201

    def github_answer(path, query):
        r = requests.get(f"{emulator.url}/forge/github{path}", params=query, headers=headers, timeout=10)
        assert r.status_code == 200
        schema = github["paths"][path.replace("o/r", "{owner}/{repo}")]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        OAS30Validator({**schema, "components": github["components"]}).validate(r.json())
        return r.json()

    pulls = github_answer("/repos/o/r/pulls", {"state": "all", "per_page": "5", "page": "1"})
    assert [p["number"] for p in pulls] == [12, 11, 10, 9, 8], "newest first, a page at a time"
    assert pulls[0]["merged_at"] and pulls[0]["state"] == "closed", "12 is merged"
    branches = github_answer("/repos/o/r/branches", {"per_page": "100"})
    assert {b["name"] for b in branches} == {"main", "feature/PROJ-1-work-1", "feature/PROJ-1-work-2", "feature/PROJ-1-work-3", "topic-4",
                                            "feature/PROJ-1-work-5"}
    head = github_answer("/repos/o/r/commits", {"sha": "feature/PROJ-1-work-2", "per_page": "1"})
    assert head[0]["sha"] == next(b for b in branches if b["name"] == "feature/PROJ-1-work-2")["commit"]["sha"]
    assert "PROJ-1" in head[0]["commit"]["message"]

    for path, definition in (("/repos/o/r/pulls", "PullRequest"), ("/repos/o/r/branches", "Branch")):
        r = requests.get(f"{emulator.url}/forge/gitea/api/v1{path}", params={"limit": "50"}, headers=headers, timeout=10)
        assert r.status_code == 200
        # Swagger 2.0 cannot say "nullable": Gitea's Go pointers are sent as null (as its own webhook payloads show), so a
        # null stands for an absent field here.
        def without_nulls(v):
            if isinstance(v, dict):
                return {k: without_nulls(x) for k, x in v.items() if x is not None}
            return [without_nulls(x) for x in v] if isinstance(v, list) else v
        jsonschema.validate(without_nulls(r.json()),
                            {"type": "array", "items": {"$ref": f"#/definitions/{definition}"}, "definitions": gitea["definitions"]})

    r = requests.get(f"{emulator.url}/forge/gitlab/api/v4/projects/42/merge_requests", params={"per_page": "100"}, headers=headers, timeout=10)
    # The keys GitLab's doc names for the list's items (doc/api/merge_requests.md).
    assert all(set(mr) >= {"id", "iid", "state", "sha", "merge_commit_sha", "merged_at", "source_branch", "target_branch", "draft",
                           "references", "web_url", "updated_at", "title", "description", "author", "reviewers"} for mr in r.json())
    assert len(r.json()) == 12


def test_the_forge_emulators_webhook_records_answer_in_the_forges_shapes(emulator):
    # What catch-up reads: GitHub's deliveries (list and one in full), GitLab's hook events.
    import requests
    from openapi_schema_validator import OAS30Validator

    from contract_check import forge_specs

    github, _ = forge_specs()
    headers = {"Authorization": "Bearer forge-token"}
    payload = {"ref": "refs/heads/main", "repository": {"id": 1}}
    for forge, project in (("github", "o/r"), ("gitlab", "42")):
        r = requests.post(emulator.url + "/_emulator/forge/hook_deliveries", timeout=10, json={
            "forge": forge, "project": project, "hook_id": 7, "deliveries": [
                {"event": "push", "guid": f"g-{n}", "status_code": code, "payload": payload} for n, code in enumerate((200, 0, 502) * 40)]})
        assert r.status_code == 201, r.text

    def github_answer(path, params):
        r = requests.get(f"{emulator.url}/forge/github{path}", params=params, headers=headers, timeout=10)
        assert r.status_code == 200
        template = path.replace("o/r", "{owner}/{repo}").replace("/7/", "/{hook_id}/")
        if template.endswith("/7"):
            template = template[:-2] + "/{hook_id}"
        if template.split("/")[-2] == "deliveries":
            template = "/".join(template.split("/")[:-1]) + "/{delivery_id}"
        schema = github["paths"][template]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        OAS30Validator({**schema, "components": github["components"]}).validate(r.json())
        return r

    first = github_answer("/repos/o/r/hooks/7/deliveries", {"per_page": "100"})
    assert len(first.json()) == 100 and first.json()[0]["guid"] == "g-119", "newest first"
    assert 'rel="next"' in first.headers["Link"] and "cursor=" in first.headers["Link"]
    one = github_answer(f"/repos/o/r/hooks/7/deliveries/{first.json()[0]['id']}", {})
    assert one.json()["request"]["payload"] == payload and one.json()["request"]["headers"]["X-GitHub-Delivery"] == "g-119"

    r = requests.get(f"{emulator.url}/forge/gitlab/api/v4/projects/42/hooks/7/events", params={"per_page": "100"}, headers=headers, timeout=10)
    events = r.json()
    # The keys of GitLab's documented example (doc/api/project_webhooks.md); response_status is a string.
    assert all(set(e) >= {"id", "url", "trigger", "request_headers", "request_data", "response_headers", "response_body",
                          "execution_duration", "response_status"} for e in events)
    assert all(isinstance(e["response_status"], str) for e in events) and {e["response_status"] for e in events} == {"200", "internal error", "502"}
