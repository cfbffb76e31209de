"""The deployment files in deploy/ (docs/deployment.md), tried for real: the systemd unit passes
`systemd-analyze verify`, and nginx and Caddy run with the shipped configurations in front of a real server,
over TLS: the client's address reaches jira-bridge through X-Forwarded-For (--trusted-proxies), a large
webhook body passes the proxy, and /metrics is refused outside the monitoring network. Only what cannot run
here changes: ports, certificate paths, and 127.0.0.1 taken off the monitoring network's list."""
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.parse

import pytest
import requests

from conftest import ROOT, Process, clean_env

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
DEPLOY = ROOT / "deploy"


def tool(name):
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if not path:
        if os.environ.get("JIRA_BRIDGE_REQUIRE_PROXIES") == "1":
            pytest.fail(f"{name} is not installed")
        pytest.skip(f"{name} is not installed")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def test_the_systemd_unit_verifies():
    analyze = tool("systemd-analyze")
    unit = (DEPLOY / "jira-bridge.service").read_text()
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/jira-bridge", "WorkingDirectory=/var/lib/jira-bridge",
                 "[Unit]", "[Install]", "WantedBy=multi-user.target"):
        assert line in unit, line
    binary = os.path.join(os.environ.get("JIRA_BRIDGE_BIN_DIR", ""), "jira-bridge")
    assert os.path.exists(binary)
    work = ROOT / ".build" / "deploy-test"
    work.mkdir(parents=True, exist_ok=True)
    (work / "jira-bridge.service").write_text(unit.replace("/opt/jira-bridge/jira-bridge", binary))
    result = subprocess.run([analyze, "verify", str(work / "jira-bridge.service")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def proxied_server(binaries, data_dir):
    p = Process([binaries["bridge"], "serve", "--port", "0", "--data-dir", data_dir, "--trusted-proxies", "127.0.0.1,::1",
                 "--public-url", "https://jira-bridge.example.com"], env=clean_env(), log_name="behind-proxy")
    yield p
    p.stop()


def certificate(directory):
    key, cert = directory / "privkey.pem", directory / "fullchain.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=jira-bridge.example.com",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return key, cert


def check_through_proxy(base, server):
    """What a proxy in front of jira-bridge must do, asked through it."""
    health = requests.get(base + "/-/health", verify=False, timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    # The client's address: a failed sign-in is counted (and logged) for the address in front of the proxy. The
    # client connects from 127.0.0.2 and claims to be 203.0.113.9: the claim is not believed, the proxy's word is.
    form = requests.get(base + "/", verify=False, timeout=10)
    csrf = re.search(r'name="_csrf" value="([^"]+)"', form.text).group(1)
    host, port = base.rsplit("/", 1)[1].split(":")
    connection = http.client.HTTPSConnection(host, int(port), source_address=("127.0.0.2", 0), timeout=10,
                                             context=ssl._create_unverified_context())
    cookie = "; ".join(f"{c.name}={c.value}" for c in form.cookies)
    connection.request("POST", "/sign_in", body=urllib.parse.urlencode({"token": "wrong", "_csrf": csrf}),
                       headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, "X-Forwarded-For": "203.0.113.9"})
    refused = connection.getresponse()
    assert refused.status == 401, refused.read()[:300]
    connection.close()
    deadline = time.time() + 5
    while "client=127.0.0.2" not in server.output and time.time() < deadline:
        time.sleep(0.1)
    assert "client=127.0.0.2" in server.output, server.output[-2000:]
    assert "client=203.0.113.9" not in server.output
    # A 2 MB webhook reaches jira-bridge (which refuses the wrong secret) instead of the proxy's own 413.
    big = requests.post(base + "/webhooks/gitlab", data=b"{" + b" " * (2 << 20) + b"}", verify=False, timeout=30,
                        headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "wrong", "Content-Type": "application/json"})
    assert big.status_code == 401, big.status_code
    # /metrics only for the monitoring network (127.0.0.1 is taken off its list here).
    assert requests.get(base + "/metrics", verify=False, timeout=10).status_code == 403


def test_nginx_with_the_shipped_configuration(proxied_server, tmp_path):
    nginx = tool("nginx")
    key, cert = certificate(tmp_path)
    http_port, https_port = free_port(), free_port()
    site = (DEPLOY / "nginx.conf").read_text()
    site = site.replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{proxied_server.port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};").replace("listen [::]:80;", "")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;").replace("listen [::]:443 ssl http2;", "")
    site = site.replace("/etc/letsencrypt/live/jira-bridge.example.com/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/jira-bridge.example.com/privkey.pem", str(key))
    site = site.replace("        allow 127.0.0.1;\n", "")
    assert str(proxied_server.port) in site and str(https_port) in site and "allow 127.0.0.1" not in site
    (tmp_path / "site.conf").write_text(site)
    for d in ("client", "proxy", "logs"):
        (tmp_path / d).mkdir()
    # nginx's workers run as nobody when started by root: they need to reach the temporary directories.
    for d in (tmp_path, tmp_path / "client", tmp_path / "proxy"):
        d.chmod(0o777)
    for parent in tmp_path.parents:
        if str(parent).startswith("/tmp/pytest"):
            parent.chmod(parent.stat().st_mode | 0o711)
    (tmp_path / "nginx.conf").write_text(f"""
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/logs/error.log;
events {{}}
http {{
    access_log {tmp_path}/logs/access.log;
    client_body_temp_path {tmp_path}/client;
    proxy_temp_path {tmp_path}/proxy;
    include {tmp_path}/site.conf;
}}
""")
    checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(https_port, proc)
        redirect = requests.get(f"http://127.0.0.1:{http_port}/", allow_redirects=False, timeout=10)
        assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://")
        check_through_proxy(f"https://127.0.0.1:{https_port}", proxied_server)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_caddy_with_the_shipped_configuration(proxied_server, tmp_path):
    caddy = tool("caddy")
    https_port, http_port = free_port(), free_port()
    site = (DEPLOY / "Caddyfile").read_text()
    # Caddy's own local CA instead of Let's Encrypt, which needs a public name.
    site = site.replace("jira-bridge.example.com {", f"https://127.0.0.1:{https_port} {{\n\ttls internal")
    site = site.replace("reverse_proxy 127.0.0.1:8080", f"reverse_proxy 127.0.0.1:{proxied_server.port}")
    site = site.replace(" 127.0.0.1/32", "")
    site = "{\n\tadmin off\n\tskip_install_trust\n\thttp_port " + str(http_port) + "\n}\n" + site
    (tmp_path / "Caddyfile").write_text(site)
    env = clean_env(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"), HOME=str(tmp_path))
    checked = subprocess.run([caddy, "validate", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"],
                             capture_output=True, text=True, env=env, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    proc = subprocess.Popen([caddy, "run", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(https_port, proc)
        check_through_proxy(f"https://127.0.0.1:{https_port}", proxied_server)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
