"""Validates recorded Jira requests against Atlassian's OpenAPI specs (the vendored subset).

Each JSON line is one request the Jira emulator received: method, path, query, contentType, body.
A request is a violation when no operation of the spec matches it or its parameters or body break
the operation's schema.
"""
import json
from urllib.parse import parse_qsl
import pathlib

import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest

CONTRACT_DIR = pathlib.Path(__file__).resolve().parents[1] / "Tests" / "Contract"


def load_specs():
    specs = {}
    for name in ("v2", "v3", "software"):
        with open(CONTRACT_DIR / f"jira-openapi-{name}-subset.json") as f:
            specs[name] = OpenAPI.from_dict(json.load(f))
    return specs


def read_records(paths):
    records = []
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line:
                    records.append(json.loads(line))
    return records


GATEWAY_VERSIONS = {"devinfo": "0.10", "builds": "0.1", "deployments": "0.1"}


def gateway_path(path):
    """Atlassian's gateway path for OAuth credentials (/jira/devinfo/0.1/cloud/<cloudId>/bulk) as the spec
    writes it (/rest/devinfo/0.10/bulk); None for any other path."""
    parts = path.split("/")  # ["", "jira", "devinfo", "0.1", "cloud", ID, ...]
    if len(parts) < 7 or parts[1] != "jira" or parts[4] != "cloud" or parts[2] not in GATEWAY_VERSIONS:
        return None
    return "/".join(["", "rest", parts[2], GATEWAY_VERSIONS[parts[2]]] + parts[6:])


def violations(records, specs=None):
    """Returns a list of (record, message) for every request that breaks the contract."""
    specs = specs or load_specs()
    found = []
    for r in records:
        path = r["path"]
        if path.startswith("/forge/"):
            continue  # the forges' APIs: forge_violations
        if path == "/oauth/token":
            continue  # Atlassian's token endpoint is not in the specs; its use is tested by the Swift suites
        gateway = gateway_path(path)
        if gateway:
            spec, path = specs["software"], gateway
        else:
            spec = specs["v3"] if path.startswith("/rest/api/3/") else specs["v2"]
        url = "http://jira.test" + path + ("?" + r["query"] if r.get("query") else "")
        headers = {}
        if r.get("contentType"):
            headers["Content-Type"] = r["contentType"]
        if r.get("authScheme"):
            headers["Authorization"] = r["authScheme"] + " token"  # the spec declares the header; its value is never recorded
        body = r.get("body")
        req = requests.Request(r["method"], url, data=body.encode() if body else None, headers=headers).prepare()
        try:
            spec.validate_request(RequestsOpenAPIRequest(req))
        except Exception as e:  # the validator raises one exception per failed request
            detail = str(e)
            cause = getattr(e, "__cause__", None)
            if cause is not None:
                detail += f" ({cause})"
            found.append((r, detail))
    return found


# The forges' APIs (commit statuses), from their own descriptions (Tests/Contract/forge-*-subset.json, made by
# tools/vendor_openapi_subset.py) and, for GitLab, which publishes no description, from the attribute table of
# its doc `doc/api/commits.md` ("Set the pipeline status of a commit", ../shared/reference/forge-apis/gitlab-api-notes.md).
GITLAB_STATUS_ATTRIBUTES = {"state", "ref", "name", "context", "target_url", "description", "coverage", "pipeline_id"}
GITLAB_STATES = {"pending", "running", "success", "failed", "canceled", "skipped"}


def forge_specs():
    with open(CONTRACT_DIR / "forge-github-subset.json") as f:
        github = json.load(f)
    with open(CONTRACT_DIR / "forge-gitea-subset.json") as f:
        gitea = json.load(f)
    return github, gitea


def gitea_schema(gitea, name):
    """A Swagger 2.0 definition as a JSON Schema with its references resolvable."""
    return {"$ref": f"#/definitions/{name}", "definitions": gitea["definitions"]}


def forge_violations(records):
    """(record, message) for every request to a forge emulator that breaks that forge's API description."""
    import jsonschema

    github, gitea = forge_specs()
    github_api = OpenAPI.from_dict(github)
    found = []
    for r in records:
        path = r["path"]
        if not path.startswith("/forge/"):
            continue
        body = json.loads(r["body"]) if r.get("body") else None
        query = parse_qsl(r.get("query") or "", keep_blank_values=True)
        parts = path.split("/")  # ["", "forge", forge, ...]
        forge = parts[2]
        try:
            if forge == "gitlab":
                gitlab_violation(r["method"], parts, body, query)
            elif forge == "github" and parts[3:4] == ["repos"] and parts[6:] == ["git", "refs"]:
                github_create_ref_violation(r["method"], body)
            elif forge == "github":
                url = "http://github.test" + "/" + "/".join(parts[3:]) + ("?" + r["query"] if r.get("query") else "")
                headers = {"Content-Type": r.get("contentType") or "application/json"}
                req = requests.Request(r["method"], url, data=r["body"].encode() if r.get("body") else None, headers=headers).prepare()
                github_api.validate_request(RequestsOpenAPIRequest(req))
            elif forge == "gitea":
                gitea_violation(gitea, r["method"], parts, body, query)
            else:
                raise ValueError(f"no forge {forge}")
        except Exception as e:  # the validators raise one exception per failed request
            found.append((r, f"{type(e).__name__}: {e}"))
    return found


# GitLab's `GET /projects/:id/merge_requests` attributes (doc/api/merge_requests.md, "List project merge requests",
# in ../shared/reference/forge-apis/gitlab-api-notes.md), with the values its table allows.
GITLAB_MR_LIST_VALUES = {"state": {"opened", "closed", "locked", "merged", "all"}, "order_by": {"created_at", "title", "updated_at"},
                         "sort": {"asc", "desc"}}
GITLAB_MR_LIST_ATTRIBUTES = {
    "approved_by_ids", "approver_ids", "approved", "assignee_id", "author_id", "author_username", "created_after", "created_before",
    "environment", "iids[]", "labels", "merge_user_id", "merge_user_username", "milestone", "my_reaction_emoji", "not", "order_by", "page",
    "per_page", "reviewer_id", "reviewer_username", "scope", "search", "sort", "source_branch", "state", "target_branch", "updated_after",
    "updated_before", "view", "wip", "with_labels_details", "with_merge_status_recheck"}
# `GET /projects/:id/repository/branches` (doc/api/branches.md, not among the reference notes): GitLab's pagination
# (`page`, `per_page`, at most 100, doc/api/rest/_index.md) and the list's two filters.
GITLAB_BRANCH_LIST_ATTRIBUTES = {"page", "per_page", "search", "regex"}


def gitlab_violation(method, parts, body, query):
    # /forge/gitlab/api/v4/projects/:id/...
    if parts[3:6] != ["api", "v4", "projects"] or len(parts) < 8:
        raise ValueError("no such GitLab operation")
    if not parts[6].isdigit():
        raise ValueError("the project id is not a number")
    rest = parts[7:]
    if method == "POST" and len(rest) == 2 and rest[0] == "statuses":
        unknown = set(body or {}) - GITLAB_STATUS_ATTRIBUTES
        if unknown:
            raise ValueError(f"unknown attributes {sorted(unknown)}")
        if (body or {}).get("state") not in GITLAB_STATES:
            raise ValueError(f"state {(body or {}).get('state')!r} is not one of {sorted(GITLAB_STATES)}")
        for field in ("description", "target_url", "ref"):
            if len((body or {}).get(field) or "") > 255:
                raise ValueError(f"{field} is longer than 255 characters")
        return
    if method == "POST" and rest == ["repository", "branches"]:
        # doc/api/branches.md, "Create repository branch": `branch` and `ref`, both required.
        if set(body or {}) != {"branch", "ref"} or not all(isinstance(v, str) and v for v in (body or {}).values()):
            raise ValueError(f"a branch is created with exactly branch and ref, got {sorted(body or {})}")
        return
    if method == "GET" and len(rest) == 3 and rest[0] == "hooks" and rest[2] == "events":
        # doc/api/project_webhooks.md, "List webhook events": `status`, `page`, `per_page`.
        if not rest[1].isdigit():
            raise ValueError("the hook id is not a number")
        for name, value in query:
            if name not in {"status", "page", "per_page"}:
                raise ValueError(f"unknown attribute {name}")
            if name in ("page", "per_page") and not (value.isdigit() and int(value) >= 1):
                raise ValueError(f"{name}={value!r} is not a whole number")
        return
    if method == "GET" and rest in (["merge_requests"], ["repository", "branches"]):
        allowed = GITLAB_MR_LIST_ATTRIBUTES if rest == ["merge_requests"] else GITLAB_BRANCH_LIST_ATTRIBUTES
        for name, value in query:
            if name not in allowed:
                raise ValueError(f"unknown attribute {name}")
            if name in ("page", "per_page") and not (value.isdigit() and int(value) >= 1 and (name == "page" or int(value) <= 100)):
                raise ValueError(f"{name}={value!r} is not a page number or a page size of 1 to 100")
            if rest == ["merge_requests"] and name in GITLAB_MR_LIST_VALUES and value not in GITLAB_MR_LIST_VALUES[name]:
                raise ValueError(f"{name}={value!r} is not one of {sorted(GITLAB_MR_LIST_VALUES[name])}")
        if body is not None:
            raise ValueError("a GET with a body")
        return
    raise ValueError(f"no such GitLab operation {method} {'/'.join(rest)}")


def github_create_ref_violation(method, body):
    """GitHub's "Create a reference" (`POST /repos/{owner}/{repo}/git/refs`), which the 2022 description in the reference
    set leaves out: `ref` (fully qualified: starts with `refs` and has at least two slashes) and `sha`, both required
    (docs.github.com/rest/git/refs)."""
    if method != "POST":
        raise ValueError(f"GitHub has no {method} /repos/{{owner}}/{{repo}}/git/refs here")
    body = body or {}
    unknown = set(body) - {"ref", "sha"}
    if unknown or not isinstance(body.get("ref"), str) or not isinstance(body.get("sha"), str):
        raise ValueError(f"a reference is created with ref and sha, got {sorted(body)}")
    if not body["ref"].startswith("refs/") or body["ref"].count("/") < 2:
        raise ValueError(f"ref {body['ref']!r} is not fully qualified")
    if len(body["sha"]) != 40 or any(c not in "0123456789abcdef" for c in body["sha"]):
        raise ValueError(f"sha {body['sha']!r} is not a commit id")


def gitea_violation(gitea, method, parts, body, query):
    import jsonschema

    # /forge/gitea/api/v1/repos/:owner/:repo/...
    if parts[3:5] != ["api", "v1"] or len(parts) < 9 or parts[5] != "repos":
        raise ValueError("no such Gitea operation")
    rest = parts[8:]
    template = "/repos/{owner}/{repo}/" + ("statuses/{sha}" if len(rest) == 2 and rest[0] == "statuses" else "/".join(rest))
    operation = gitea["paths"].get(template, {}).get(method.lower())
    if operation is None:
        raise ValueError(f"Gitea has no {method} {template}")
    if method == "POST":
        jsonschema.validate(body, gitea_schema(gitea, "CreateBranchRepoOption" if template.endswith("/branches") else "CreateStatusOption"))
    params = {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "query"}
    for name, value in query:
        p = params.get(name)
        if p is None:
            raise ValueError(f"{template} takes no query parameter {name}")
        if p.get("type") == "integer" and not value.lstrip("-").isdigit():
            raise ValueError(f"{name}={value!r} is not an integer")
        if p.get("type") == "boolean" and value not in ("true", "false"):
            raise ValueError(f"{name}={value!r} is not true or false")
        if p.get("enum") and value not in p["enum"]:
            raise ValueError(f"{name}={value!r} is not one of {p['enum']}")
