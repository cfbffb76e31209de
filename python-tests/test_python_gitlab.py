"""python-gitlab, a real GitLab client, reads and changes the Jira integration; each of its requests and each
answer is valid against docs/openapi.yaml (openapi-core)."""
import gitlab
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from conftest import ROOT, api


def described_api(base_url):
    doc = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
    doc["servers"] = [{"url": base_url}]
    return OpenAPI.from_dict(doc)


def test_python_gitlab_reads_updates_and_deletes_the_jira_integration(server, emulator):
    r = api(server, "POST", "/api/v4/projects", json={
        "id": 42, "path_with_namespace": "acme/shop", "name": "Shop", "web_url": "https://gitlab.example.com/acme/shop"})
    assert r.status_code == 201, r.text

    gl = gitlab.Gitlab(server.url, private_token=server.admin_token)
    spec = described_api(server.url)
    checked, problems = [], []

    def validate(response, *args, **kwargs):
        request = RequestsOpenAPIRequest(response.request)
        for what, check in (("request", lambda: spec.validate_request(request)),
                            ("answer", lambda: spec.validate_response(request, RequestsOpenAPIResponse(response)))):
            try:
                check()
            except Exception as error:  # noqa: BLE001 - every kind of mismatch is reported
                problems.append(f"{response.request.method} {response.request.url} {what}: {error!r}")
        checked.append(response.request.url)

    gl.session.hooks["response"].append(validate)
    project = gl.projects.get(42, lazy=True)
    project.integrations.update("jira", {"url": emulator.url, "username": "jira-bot", "password": "secret-token", "active": True})

    jira = project.integrations.get("jira")
    assert jira.active is True
    assert jira.title == "Jira issues"
    assert jira.properties["url"] == emulator.url
    assert "password" not in jira.properties

    jira.jira_issue_transition_id = "31"
    jira.commit_events = False
    jira.save()

    again = gl.projects.get("acme/shop", lazy=True).integrations.get("jira")
    assert again.properties["jira_issue_transition_id"] == "31"
    assert again.commit_events is False
    assert again.properties["deployment_type"] == "server"

    test = api(server, "POST", "/api/v4/projects/42/integrations/jira/test").json()
    assert test["success"] is True, "the password survived a save that did not send it"

    active = [i.slug for i in project.integrations.list()]
    assert active == ["jira"]

    again.delete()
    try:
        project.integrations.get("jira")
        raise AssertionError("the integration should be gone")
    except gitlab.exceptions.GitlabGetError as e:
        assert e.response_code == 404
    assert len(checked) >= 6 and not problems, problems
