"""The Debian package (scripts/package), installed on this machine for real: dpkg installs it, the service starts
as its unit says (as the jira-bridge user, in /var/lib/jira-bridge), answers /-/readiness through
`jira-bridge healthcheck`, stops on SIGTERM, and the package removes cleanly (remove keeps the data, purge takes
it). systemd is not PID 1 here, so the unit's command runs under setpriv as its user; `systemd-analyze verify` checks the unit.

Needs root and a built package: scripts/test builds it (JIRA_BRIDGE_PACKAGE); in CI a missing one fails."""
import grp
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess

import pytest
import requests

from conftest import Process

DEB = os.environ.get("JIRA_BRIDGE_PACKAGE")


@pytest.fixture(scope="module")
def deb():
    if not DEB:
        if os.environ.get("JIRA_BRIDGE_REQUIRE_PACKAGE") == "1":
            pytest.fail("JIRA_BRIDGE_PACKAGE is not set: scripts/package did not run")
        pytest.skip("no package built (scripts/package; scripts/test sets JIRA_BRIDGE_PACKAGE)")
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    return DEB


def sh(*args, check=True):
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def installed():
    return sh("dpkg-query", "-W", "-f=${Status}", "jira-bridge", check=False).stdout.startswith("install ok installed")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_package_holds_the_binary_its_resources_and_the_unit_and_no_secret(deb):
    info = sh("dpkg-deb", "--field", deb, "Package", "Version", "Depends").stdout
    version = open(os.path.join(os.path.dirname(__file__), "..", "VERSION")).read().strip()
    assert "Package: jira-bridge" in info and f"Version: {version}" in info, info
    # dpkg-shlibdeps named the libraries: SQLite among them, and nothing of a Swift toolchain.
    assert re.search(r"libsqlite3-0 \(>= [^)]+\)", info) and "libc6" in info and "swift" not in info.lower(), info
    contents = sh("dpkg-deb", "--contents", deb).stdout
    for path in ("./usr/bin/jira-bridge -> ../lib/jira-bridge/jira-bridge", "./usr/lib/jira-bridge/jira-bridge\n",
                 "./usr/lib/jira-bridge/jira-bridge_Server.resources/Web/templates/layout.mustache",
                 "./lib/systemd/system/jira-bridge.service", "./etc/jira-bridge/jira-bridge.env",
                 "./usr/share/doc/jira-bridge/copyright"):
        assert path in contents + "\n", path
    for secret in ("admin-token", "secret-key", ".sqlite", ".build"):
        assert secret not in contents, secret
    assert all(" root/root " in line for line in contents.splitlines()), contents
    # The environment file is a conffile: an upgrade keeps the operator's changes.
    assert sh("dpkg-deb", "--info", deb, "conffiles").stdout.split() == ["/etc/jira-bridge/jira-bridge.env"]


def test_install_serve_and_remove(deb, tmp_path):
    user_existed = True
    try:
        pwd.getpwnam("jira-bridge")
    except KeyError:
        user_existed = False
    if installed():
        sh("dpkg", "--purge", "jira-bridge")
    try:
        sh("dpkg", "--install", deb)
        assert installed()
        # The maintainer scripts made the user and its private data directory; the environment file is readable by it only.
        user = pwd.getpwnam("jira-bridge")
        assert user.pw_dir == "/var/lib/jira-bridge" and user.pw_shell == "/usr/sbin/nologin"
        data = os.stat("/var/lib/jira-bridge")
        assert data.st_uid == user.pw_uid and stat.S_IMODE(data.st_mode) == 0o700
        env_file = os.stat("/etc/jira-bridge/jira-bridge.env")
        assert env_file.st_uid == 0 and env_file.st_gid == grp.getgrnam("jira-bridge").gr_gid and stat.S_IMODE(env_file.st_mode) == 0o640
        version = sh("/usr/bin/jira-bridge", "--version").stdout
        assert version.startswith(open(os.path.join(os.path.dirname(__file__), "..", "VERSION")).read().strip()), version

        unit = open("/lib/systemd/system/jira-bridge.service").read()
        analyze = shutil.which("systemd-analyze")
        if analyze:
            verified = sh(analyze, "verify", "/lib/systemd/system/jira-bridge.service", check=False)
            assert verified.returncode == 0, verified.stderr
        # The unit's command, user, directory and environment, run as systemd would (on a free port).
        exec_start = re.search(r"^ExecStart=(.+)$", unit, re.M).group(1).split()
        assert exec_start[:2] == ["/usr/bin/jira-bridge", "serve"], exec_start
        port = free_port()
        exec_start[exec_start.index("--port") + 1] = str(port)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        for value in re.findall(r"^Environment=(\S+)$", unit, re.M):
            name, _, text = value.partition("=")
            env[name] = text
        assert env.get("JIRA_BRIDGE_DATA_DIR") == "/var/lib/jira-bridge"
        user_line = re.search(r"^User=(\S+)$", unit, re.M).group(1)
        assert user_line == "jira-bridge" and "WorkingDirectory=/var/lib/jira-bridge" in unit
        # setpriv execs the command (runuser would stand between it and SIGTERM), as systemd's User= does.
        server = Process(["setpriv", "--reuid=jira-bridge", "--regid=jira-bridge", "--init-groups", "env", "-i",
                          *[f"{k}={v}" for k, v in env.items()], *exec_start], log_name="packaged")
        try:
            assert server.port == port
            ready = sh("/usr/bin/jira-bridge", "healthcheck", "--url", f"http://127.0.0.1:{port}/-/readiness")
            assert ready.stdout.startswith("200 "), ready.stdout
            # The pages found their resources through the /usr/bin link.
            page = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
            assert page.status_code == 200 and 'action="/sign_in"' in page.text, (page.status_code, page.text[:300])
            assert requests.get(f"http://127.0.0.1:{port}/-/assets/app.css", timeout=10).status_code == 200
            token = os.stat("/var/lib/jira-bridge/admin-token")
            assert token.st_uid == user.pw_uid and stat.S_IMODE(token.st_mode) == 0o600
        finally:
            assert server.stop() == 0, server.output
        # Nothing answers any more: healthcheck says so with status 1.
        down = sh("/usr/bin/jira-bridge", "healthcheck", "--url", f"http://127.0.0.1:{port}/-/readiness", "--timeout", "2", check=False)
        assert down.returncode == 1 and "did not answer" in down.stderr, down.stderr

        # remove: the files go, the data and the configuration stay.
        sh("dpkg", "--remove", "jira-bridge")
        assert not os.path.exists("/usr/bin/jira-bridge") and not os.path.exists("/usr/lib/jira-bridge/jira-bridge")
        assert os.path.exists("/var/lib/jira-bridge/jira-bridge.sqlite") and os.path.exists("/etc/jira-bridge/jira-bridge.env")
        # purge: they go too.
        sh("dpkg", "--purge", "jira-bridge")
        assert not os.path.exists("/var/lib/jira-bridge") and not os.path.exists("/etc/jira-bridge")
        assert sh("dpkg-query", "-W", "jira-bridge", check=False).returncode != 0
    finally:
        if installed() or sh("dpkg-query", "-W", "jira-bridge", check=False).returncode == 0:
            sh("dpkg", "--purge", "jira-bridge", check=False)
        if not user_existed:
            sh("userdel", "jira-bridge", check=False)
            sh("groupdel", "jira-bridge", check=False)
