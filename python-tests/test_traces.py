"""OpenTelemetry traces (swift-otel, OTLP/HTTP with protobuf, the default): with OTEL_EXPORTER_OTLP_ENDPOINT set, one
webhook's trace reaches a local OTLP receiver whole - the request's server span, the intake, the event's planning
(continued across the queue), each delivery, and each Jira call - and each Jira request carries the W3C traceparent
of its HTTP client span (AsyncHTTPClient's, under the call's span). Without the variable nothing is exported. The receiver is a small HTTP server here, decoding
OpenTelemetry's own protobuf messages (opentelemetry-proto)."""
import http.server
import json
import subprocess
import threading

import pytest
import requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from conftest import clean_env, one_push


class Receiver:
    def __init__(self):
        self.spans = []
        self.requests = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                message = trace_service_pb2.ExportTraceServiceRequest()
                message.ParseFromString(body)
                for resource in message.resource_spans:
                    service = {a.key: a.value.string_value for a in resource.resource.attributes}.get("service.name")
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            receiver.spans.append({
                                "service": service, "name": span.name, "trace": span.trace_id.hex(), "span": span.span_id.hex(),
                                "parent": span.parent_span_id.hex(), "kind": span.kind,
                                "attributes": {a.key: a.value.string_value or a.value.int_value for a in span.attributes}})
                receiver.requests += 1
                answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def serve_and_push(binaries, data_dir, emulator, env):
    answer, deliveries, output = one_push(binaries, data_dir, emulator, env=env)
    assert len(deliveries) == 2, deliveries
    return answer.json()["event_id"], output


def test_one_webhooks_trace_arrives_whole_at_an_otlp_receiver(binaries, data_dir, emulator):
    receiver = Receiver()
    try:
        event_id, log = serve_and_push(binaries, data_dir, emulator, {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
    finally:
        receiver.close()
    assert f"otlp_traces={receiver.url}/v1/traces" in log, log[:2000]
    spans = receiver.spans
    intake = [s for s in spans if s["name"] == "webhook intake" and s["attributes"].get("jira_bridge.event_id") == event_id]
    assert len(intake) == 1, [s["name"] for s in spans]
    trace = [s for s in spans if s["trace"] == intake[0]["trace"]]
    assert all(s["service"] == "jira-bridge" for s in trace)
    by_id = {s["span"]: s for s in trace}
    # The request's server span is the root; the intake is its child.
    root = by_id[intake[0]["parent"]]
    assert root["parent"] == "" and root["kind"] == 2 and "/webhooks/gitlab" in root["name"], root  # SPAN_KIND_SERVER
    plan = [s for s in trace if s["name"] == "plan event"]
    assert len(plan) == 1 and plan[0]["parent"] == intake[0]["span"], plan
    deliveries = [s for s in trace if s["name"].startswith("delivery ")]
    assert sorted(s["name"] for s in deliveries) == ["delivery comment", "delivery remote_link"], [s["name"] for s in trace]
    assert all(d["parent"] == plan[0]["span"] for d in deliveries)
    calls = [s for s in trace if s["name"].startswith("Jira ")]
    assert calls and all(by_id[c["parent"]]["name"].startswith("delivery ") for c in calls), [(c["name"], c["parent"]) for c in calls]
    assert {c["attributes"].get("http.request.method") for c in calls} >= {"GET", "POST"}
    assert any(s["name"].startswith("store ") and by_id.get(s["parent"], {}).get("name", "").startswith("delivery ") for s in trace)
    # Jira saw each call's traceparent: this trace, and the call's own span as parent.
    recorded = requests.get(emulator.url + "/_emulator/requests", timeout=10).json()
    sent = [r["traceparent"] for r in recorded if r.get("traceparent") and "/rest/api/2/issue/PROJ-1" in r["path"]]
    assert sent, recorded[-3:]
    # AsyncHTTPClient's client span (under the call's span) is the parent Jira sees.
    http_spans = {s["span"]: s for s in trace if s["kind"] == 3 and s["parent"] in {c["span"] for c in calls}}  # SPAN_KIND_CLIENT
    assert http_spans, [(s["name"], s["kind"]) for s in trace]
    for header in sent:
        version, trace_id, parent, flags = header.split("-")
        assert version == "00" and trace_id == intake[0]["trace"] and parent in http_spans and flags == "01", header


def test_without_an_endpoint_nothing_is_traced(binaries, data_dir, emulator):
    event_id, log = serve_and_push(binaries, data_dir, emulator, {})
    assert "otlp_traces=off" in log
    recorded = requests.get(emulator.url + "/_emulator/requests", timeout=10).json()
    assert recorded and not any(r.get("traceparent") for r in recorded)


def test_a_grpc_protocol_is_refused_at_start(binaries, data_dir):
    result = subprocess.run([binaries["bridge"], "serve", "--data-dir", data_dir], capture_output=True, text=True, timeout=30,
                            env=clean_env(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4317", OTEL_EXPORTER_OTLP_PROTOCOL="grpc"))
    assert result.returncode == 64 and "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported" in result.stderr, result.stderr
