"""Validates recorded Jira requests against Atlassian's OpenAPI specs (the vendored subset).

Each JSON line is one request the Jira emulator received: method, path, query, contentType, body.
A request is a violation when no operation of the spec matches it or its parameters or body break
the operation's schema.
"""
import json
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
