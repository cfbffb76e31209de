"""Starts the real jira-bridge and jira-emulator binaries on free loopback ports."""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]


def bin_dir():
    d = os.environ.get("JIRA_BRIDGE_BIN_DIR")
    if d:
        return pathlib.Path(d)
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True)
    return pathlib.Path(out.stdout.strip())


class Process:
    """A child process whose log is read until it says which port it listens on."""

    def __init__(self, args, env=None, log_name="proc"):
        self.log_path = pathlib.Path(tempfile.mkdtemp()) / f"{log_name}.log"
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.port = self._wait_for_port()

    def _wait_for_port(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            text = self.log_path.read_text()
            m = re.search(r"listening on http://[\d.]+:(\d+)", text)
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError(f"process exited early:\n{text}")
            time.sleep(0.05)
        raise RuntimeError(f"no port announced:\n{self.log_path.read_text()}")

    @property
    def output(self):
        return self.log_path.read_text()

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRA_BRIDGE_")}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def binaries():
    d = bin_dir()
    return {"bridge": str(d / "jira-bridge"), "emulator": str(d / "jira-emulator")}


@pytest.fixture
def data_dir():
    d = tempfile.mkdtemp(prefix="jb-data-")
    yield d
    if not os.environ.get("JB_KEEP_DATA"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def emulator(binaries):
    args = [binaries["emulator"], "--port", "0", "--seed"]
    contract = os.environ.get("JIRA_BRIDGE_CONTRACT_DIR")
    if contract:
        args += ["--record-file", os.path.join(contract, f"python-{os.getpid()}-{time.time_ns()}.jsonl")]
    p = Process(args, env=clean_env(), log_name="emulator")
    p.url = f"http://127.0.0.1:{p.port}"
    yield p
    p.stop()


@pytest.fixture
def server(binaries, data_dir):
    p = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir, "--allow-local-requests"],
                env=clean_env(), log_name="bridge")
    p.url = f"http://127.0.0.1:{p.port}"
    p.data_dir = data_dir
    p.admin_token = pathlib.Path(data_dir, "admin-token").read_text().strip()
    yield p
    p.stop()


def api(server, method, path, **kwargs):
    headers = kwargs.pop("headers", {})
    headers.setdefault("PRIVATE-TOKEN", server.admin_token)
    return requests.request(method, server.url + path, headers=headers, timeout=60, **kwargs)


PSQL = "/usr/lib/postgresql/15/bin/psql"


def psql(url, sql):
    """Runs SQL with the cluster's own client; returns the rows as lists of text."""
    out = subprocess.run([PSQL, url, "-X", "-q", "-A", "-t", "-F", "\t", "-c", sql], capture_output=True, text=True, check=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


@pytest.fixture
def postgres_url():
    """A fresh database on the throwaway cluster scripts/test starts (JIRA_BRIDGE_TEST_POSTGRES_URL), dropped after."""
    base = os.environ.get("JIRA_BRIDGE_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("no test PostgreSQL: scripts/test starts one")
    name = f"jb_py_{os.getpid()}_{time.time_ns()}"
    psql(base, f"CREATE DATABASE {name}")
    yield base.replace("/postgres?", f"/{name}?")
    psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def push_payload(n, key):
    """GitLab's push webhook for project 42 (acme/shop) with one commit, number n, that mentions `key`."""
    sha = f"{n + 1:040x}"  # all zeros would be a branch deletion
    return {
        "object_kind": "push", "ref": "refs/heads/feature", "before": "0" * 40, "after": sha,
        "user_name": "John Smith", "user_username": "jsmith", "user_email": "john@example.com",
        "project_id": 42,
        "project": {"id": 42, "name": "Shop", "namespace": "Acme", "path_with_namespace": "acme/shop",
                    "web_url": "https://gitlab.example.com/acme/shop", "default_branch": "main"},
        "commits": [{"id": sha, "message": f"Change {n} for {key}", "url": f"https://gitlab.example.com/acme/shop/-/commit/{sha}",
                     "author": {"name": "John Smith", "email": "john@example.com"}}],
    }


def one_push(binaries, data_dir, emulator, args=(), env=None, while_serving=None):
    """Serves with `args` and `env`, registers project 42 with an active integration against the emulator and a webhook
    secret, sends one push that mentions PROJ-1, waits for its deliveries (`deliveries list --wait`), and stops the
    server with SIGTERM. Returns (the webhook's answer, the deliveries as the API lists them, the server's log);
    `while_serving(server)` runs before the stop."""
    server = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir, "--allow-local-requests", *args],
                     env=clean_env(**(env or {})), log_name="bridge-one-push")
    server.url = f"http://127.0.0.1:{server.port}"
    server.admin_token = pathlib.Path(data_dir, "admin-token").read_text().strip()
    try:
        api(server, "POST", "/api/v4/projects", json={"id": 42, "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop"})
        assert api(server, "PUT", "/api/v4/projects/42/integrations/jira",
                   json={"active": True, "url": emulator.url, "username": "jira-bot", "password": "secret-token"}).status_code == 200
        assert api(server, "PUT", "/api/v4/projects/42", json={"webhook_secret": "hook-secret"}).status_code == 200
        answer = requests.post(server.url + "/webhooks/gitlab", json=push_payload(1, "PROJ-1"), timeout=10,
                               headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "hook-secret"})
        assert answer.status_code == 202, answer.text
        if while_serving:
            while_serving(server)
        waited = subprocess.run([binaries["bridge"], "deliveries", "list", "--project", "42", "--wait", "--json", "--data-dir", data_dir],
                                capture_output=True, text=True, timeout=60, env=clean_env())
        assert waited.returncode == 0, waited.stderr
        deliveries = json.loads(waited.stdout)
    finally:
        # SIGTERM: requests in flight finish, and the trace exporter sends what it holds, before the process exits.
        assert server.stop() == 0, server.output
    return answer, deliveries, server.output
