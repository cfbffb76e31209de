"""Log formats (`--log-format json|logfmt|text`): every line parses, values with spaces are quoted, and one id
follows a webhook from its answer to its deliveries. The webhook's answer carries `X-Request-Id`; the request's
lines carry it as `request_id`; the line "webhook accepted" ties it to the event id of the answer's body; each
delivery's lines (down to its Jira calls) carry that `event_id`, as the delivery log does."""
import json
import re
import subprocess

import pytest
import requests

from conftest import clean_env, one_push

LOGFMT_PAIR = re.compile(r'([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]+)')


def parse_logfmt(line):
    pairs = LOGFMT_PAIR.findall(line)
    # The whole line is pairs separated by single spaces: nothing is left over.
    assert " ".join(f"{k}={v}" for k, v in pairs) == line, line
    return {k: json.loads(v) if v.startswith('"') else v for k, v in pairs}


def run_webhook(binaries, data_dir, emulator, fmt):
    def refused(server):
        wrong = requests.post(server.url + "/webhooks/gitlab", json={}, timeout=10,
                              headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "wrong"})
        assert wrong.status_code == 401 and wrong.headers.get("X-Request-Id"), wrong.headers

    answer, deliveries, output = one_push(binaries, data_dir, emulator, args=("--log-format", fmt, "--log-level", "debug"),
                                          while_serving=refused)
    return output, answer, deliveries


@pytest.mark.parametrize("fmt", ["json", "logfmt"])
def test_every_line_parses_and_one_id_follows_a_webhook_to_jira(binaries, data_dir, emulator, fmt):
    output, answer, deliveries = run_webhook(binaries, data_dir, emulator, fmt)
    lines = [l for l in output.splitlines() if l.strip()]
    records = [json.loads(l) if fmt == "json" else parse_logfmt(l) for l in lines]
    assert all({"ts", "level", "msg"} <= set(r) for r in records), lines[:3]
    # A value with spaces stays one value.
    settings = next(r for r in records if r["msg"] == "settings in effect")
    assert settings["outbound_allowlist"] == "0 entries" and "secret" not in json.dumps(settings).replace("webhook_secret_set", "")

    request_id = answer.headers["X-Request-Id"]
    event_id = answer.json()["event_id"]
    accepted = [r for r in records if r["msg"] == "webhook accepted"]
    assert len(accepted) == 1 and accepted[0]["request_id"] == request_id and accepted[0]["event_id"] == event_id, accepted
    request_line = [r for r in records if r["msg"] == "request" and r.get("request_id") == request_id]
    assert len(request_line) == 1 and request_line[0]["path"] == "/webhooks/gitlab" and request_line[0]["status"] == "202"
    # The deliveries in the delivery log name the event; their lines, Jira calls included, carry both ids.
    assert len(deliveries) == 2 and {d["event_id"] for d in deliveries} == {event_id}
    for d in deliveries:
        mine = [r for r in records if r.get("delivery_id") == str(d["id"])]
        assert mine and all(r["event_id"] == event_id for r in mine), mine
        assert any("Jira" in r["msg"] for r in mine), [r["msg"] for r in mine]
    # Every request line has its request id; no line of the server lacks both ids unless it is about the process.
    assert all(r.get("request_id") for r in records if r["msg"] == "request")


def test_a_bad_log_format_is_refused(binaries, data_dir):
    result = subprocess.run([binaries["bridge"], "serve", "--log-format", "xml", "--data-dir", data_dir], capture_output=True, text=True,
                            timeout=30, env=clean_env())
    assert result.returncode == 64 and "invalid log format 'xml': expected one of text, logfmt, json" in result.stderr, result.stderr
