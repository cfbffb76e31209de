#!/usr/bin/env python3
"""Extracts the Jira REST paths jira-bridge calls from Atlassian's published OpenAPI specs,
with every component they reference, into Tests/Contract/jira-openapi-subset.json.

Sources (see ../shared/reference/SOURCES.md):
  v2: jira-cloud-platform-v2.openapi.primelib-modified.json (Atlassian's Jira Cloud REST v2 spec as
      vendored by primelib/jira4j @ 3ff2044f45fdd7946ccef877b6eae2086473030a, Apache-2.0)
  v3: jira-cloud-platform-v3.swagger-v3.v3.json (Atlassian's Jira Cloud REST v3 spec as vendored by
      jarekbird/jira-api-mcp-wrapper @ 9a9e84dacce9900b0bd4f1f095f5f1bdf3ce0168, Apache-2.0)
  software: jira-software-cloud.openapi.json (Atlassian's Jira Software Cloud spec: development information,
      builds, deployments; see ../shared/reference/SOURCES.md), into jira-openapi-software-subset.json. The gateway
      serves these operations under /jira/<type>/0.1/cloud/<cloudId>/...; python-tests/contract_check.py maps
      those paths back to the spec's /rest/<type>/<version>/....

Also the forge API operations jira-bridge calls (`forges` below), into Tests/Contract/forge-*-subset.json.

Run: python3 tools/vendor_openapi_subset.py ../shared/reference/jira ../shared/reference/forge-apis
"""
import json
import sys

V2_PATHS = [
    "/rest/api/2/serverInfo",
    "/rest/api/2/myself",
    "/rest/api/2/issue",
    "/rest/api/2/issue/{issueIdOrKey}",
    "/rest/api/2/issue/{issueIdOrKey}/comment",
    "/rest/api/2/issue/{issueIdOrKey}/remotelink",
    "/rest/api/2/issue/{issueIdOrKey}/remotelink/{linkId}",
    "/rest/api/2/issue/{issueIdOrKey}/transitions",
    "/rest/api/2/issue/{issueIdOrKey}/worklog",
    "/rest/api/2/project/{projectIdOrKey}",
    "/rest/api/2/issuetype",
    "/rest/api/2/search",
    "/rest/api/2/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}",
]
V3_PATHS = ["/rest/api/3/search/jql"]
SOFTWARE_PATHS = [
    "/rest/devinfo/0.10/bulk",
    "/rest/devinfo/0.10/repository/{repositoryId}/{entityType}/{entityId}",
    "/rest/builds/0.1/bulk",
    "/rest/deployments/0.1/bulk",
]
METHODS = {"get", "post", "put", "delete"}


def refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/components/"):
                out.add(v)
            else:
                refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def subset(spec, paths, prefix):
    result = {"paths": {}, "components": {}}
    for p in paths:
        item = spec["paths"][p]
        item = {k: v for k, v in item.items() if k in METHODS or k == "parameters"}
        for op in item.values():
            if isinstance(op, dict):
                op.pop("security", None)
        result["paths"][p] = item
    seen = set()
    todo = set()
    refs(result["paths"], todo)
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        node = spec["components"][kind][name]
        result["components"].setdefault(kind, {})[name] = node
        found = set()
        refs(node, found)
        todo |= found - seen
    return result


def fix_defaults(node):
    """Atlassian's files give some enums a default of "" that is not in the enum (SOURCES.md)."""
    if isinstance(node, dict):
        if "enum" in node and node.get("default") == "" and "" not in node["enum"]:
            del node["default"]
        for v in node.values():
            fix_defaults(v)
    elif isinstance(node, list):
        for v in node:
            fix_defaults(v)


def widen_authorization(node):
    """Builds' and deployments' Authorization parameter has the pattern `JWT \\S+`, though its own description
    says it takes "either a Connect JWT token or OAuth token for an on-premise integration", and Atlassian's guide
    for those (integrate-jsw-cloud-with-onpremises-tools) sends `Authorization: Bearer <token>`. The pattern is
    widened to both, as devinfo's parameter (no pattern) already allows."""
    if isinstance(node, dict):
        if node.get("in") == "header" and node.get("name") == "Authorization":
            schema = node.get("schema", {})
            if schema.get("pattern") == "JWT \\S+":
                schema["pattern"] = "^(JWT|Bearer) \\S+$"
        for v in node.values():
            widen_authorization(v)
    elif isinstance(node, list):
        for v in node:
            widen_authorization(v)


def main(ref_dir):
    v2 = json.load(open(f"{ref_dir}/jira-cloud-platform-v2.openapi.primelib-modified.json"))
    v3 = json.load(open(f"{ref_dir}/jira-cloud-platform-v3.swagger-v3.v3.json"))
    software = json.load(open(f"{ref_dir}/jira-software-cloud.openapi.json"))
    for name, spec, paths in (("v2", v2, V2_PATHS), ("v3", v3, V3_PATHS), ("software", software, SOFTWARE_PATHS)):
        s = subset(spec, paths, name)
        doc = {
            "openapi": spec["openapi"],
            "info": {"title": f"Jira REST {name} (subset used by jira-bridge)", "version": spec["info"]["version"],
                     "x-source": "see tools/vendor_openapi_subset.py"},
            "servers": [{"url": "http://jira.test"}],
            "paths": s["paths"],
            "components": s["components"],
        }
        fix_defaults(doc)
        widen_authorization(doc)
        with open(f"Tests/Contract/jira-openapi-{name}-subset.json", "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")


def definitions(node, out):
    """Swagger 2.0's `#/definitions/...` references below `node`."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/definitions/"):
                out.add(v.split("/")[-1])
            else:
                definitions(v, out)
    elif isinstance(node, list):
        for v in node:
            definitions(v, out)


# Commit statuses (checks); the pull requests, branches and (GitHub) commits a backfill lists.
# and the webhook deliveries (GitHub) or commits (Gitea) a catch-up reads.
GITHUB_PATHS = ["/repos/{owner}/{repo}/statuses/{sha}", "/repos/{owner}/{repo}/pulls", "/repos/{owner}/{repo}/branches",
                "/repos/{owner}/{repo}/commits", "/repos/{owner}/{repo}/hooks/{hook_id}/deliveries",
                "/repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}"]
GITEA_PATHS = ["/repos/{owner}/{repo}/statuses/{sha}", "/repos/{owner}/{repo}/pulls", "/repos/{owner}/{repo}/branches",
               "/repos/{owner}/{repo}/commits"]


def forges(forge_dir):
    """The forge API operations jira-bridge calls (commit statuses, the lists a backfill reads), from the forges' own descriptions
    (../shared/reference/forge-apis/: GitHub's OpenAPI 3.0 as of 2022-06-11, Gitea's Swagger 2.0), into
    Tests/Contract/forge-github-subset.json and forge-gitea-subset.json, with what they reference."""
    github = json.load(open(f"{forge_dir}/github-rest.subset.json"))
    s = subset(github, GITHUB_PATHS, "github")
    doc = {"openapi": github["openapi"], "info": {"title": "GitHub REST (subset used by jira-bridge)", "version": github["info"]["version"],
           "x-source": "see tools/vendor_openapi_subset.py"}, "servers": [{"url": "http://github.test"}],
           "paths": s["paths"], "components": s["components"]}
    with open("Tests/Contract/forge-github-subset.json", "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    gitea = json.load(open(f"{forge_dir}/gitea-swagger.subset.json"))
    paths = {p: {m: op for m, op in gitea["paths"][p].items() if m in METHODS} for p in GITEA_PATHS}
    # Swagger 2.0 names shared answers in `responses`, which refer to `definitions`.
    responses = {}
    for op in (o for item in paths.values() for o in item.values()):
        for answer in op.get("responses", {}).values():
            ref = answer.get("$ref", "")
            if ref.startswith("#/responses/"):
                name = ref.split("/")[-1]
                responses[name] = gitea["responses"][name]
    wanted, seen = set(), set()
    definitions([paths, responses], wanted)
    while wanted - seen:
        name = (wanted - seen).pop()
        seen.add(name)
        definitions(gitea["definitions"][name], wanted)
    doc = {"swagger": gitea["swagger"], "info": {"title": "Gitea API (subset used by jira-bridge)", "version": gitea["info"]["version"],
           "x-source": "see tools/vendor_openapi_subset.py"}, "basePath": "/api/v1", "paths": paths, "responses": responses,
           "definitions": {n: gitea["definitions"][n] for n in sorted(seen)}}
    with open("Tests/Contract/forge-gitea-subset.json", "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/jira")
    forges(sys.argv[2] if len(sys.argv) > 2 else "../shared/reference/forge-apis")
