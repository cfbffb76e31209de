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
    for name in ("v2", "v3"):
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


def violations(records, specs=None):
    """Returns a list of (record, message) for every request that breaks the contract."""
    specs = specs or load_specs()
    found = []
    for r in records:
        spec = specs["v3"] if r["path"].startswith("/rest/api/3/") else specs["v2"]
        url = "http://jira.test" + r["path"] + ("?" + r["query"] if r.get("query") else "")
        headers = {}
        if r.get("contentType"):
            headers["Content-Type"] = r["contentType"]
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
