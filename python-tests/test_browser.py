"""The web pages in a real browser (Debian's Chromium, driven by Playwright) against the real server and
the Jira emulator: the seed's settings steps, Test settings, issue types, validation, defaults, the Jira
issues pages on Server and Cloud, and the delivery log's retry. Every page is checked for console errors.

Set JB_SCREENSHOTS=1 to write the screenshots shown in the README into docs/screenshots/."""
import json
import os
import pathlib
import shutil

import pytest
import requests

from conftest import ROOT, Process, api, clean_env

import playwright.sync_api as playwright_api  # noqa: E402  (installed by scripts/test; a missing one fails, never skips)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield b
        b.close()


class Console:
    """Collects console errors and uncaught exceptions of every page the test opens. A page answered
    with an error status on purpose (403, a 422 form) is not a console error; anything it loads is."""

    def __init__(self, page):
        self.errors = []
        self.page = page
        page.on("console", self.on_console)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e} @ {page.url}"))

    def on_console(self, m):
        if m.type != "error":
            return
        where = (m.location or {}).get("url", "")
        if m.text.startswith("Failed to load resource: the server responded with a status of") and where == self.page.url:
            return
        self.errors.append(f"{m.text} @ {where or self.page.url}")


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    console = Console(pg)
    yield pg
    context.close()
    assert console.errors == [], "console errors: " + "\n".join(console.errors)


def shot(page, name):
    if os.environ.get("JB_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, server, token=None):
    page.goto(server.url + "/")
    page.fill("#token", token or server.admin_token)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Projects and groups")


def fill_connection(page, emulator, password="secret-token"):
    """The seed's first steps: Active, then the connection details."""
    page.check("input[name=active]")
    page.fill("#url", emulator.url)
    page.fill("#username", "jira-bot")
    page.fill("#password", password)


def register(server, pid=42, path="acme/shop"):
    r = api(server, "POST", "/api/v4/projects", json={"id": pid, "path_with_namespace": path, "name": path.split("/")[-1].title(),
                                                      "web_url": f"https://gitlab.example.com/{path}"})
    assert r.status_code == 201, r.text


def configure(server, emulator, **extra):
    body = {"active": True, "url": emulator.url, "username": "jira-bot", "password": "secret-token"}
    body.update(extra)
    r = api(server, "PUT", "/api/v4/projects/42/integrations/jira", json=body)
    assert r.status_code == 200, r.text


def test_sign_in_rejects_a_wrong_token_and_signs_out(server, page):
    page.goto(server.url + "/")
    shot(page, "sign-in")
    page.fill("#token", "not-a-token")
    page.click("button[type=submit]")
    assert page.locator("text=That token is not valid.").is_visible()
    sign_in(page, server)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["jira_bridge_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    page.click("text=Sign out")
    page.wait_for_selector("#token")
    page.goto(server.url + "/admin/integrations/jira")
    assert page.locator("#token").is_visible(), "signed out: the sign-in form again"


def test_settings_form_follows_the_seed_steps(server, emulator, page):
    register(server)
    sign_in(page, server)
    page.click("text=acme/shop")
    assert page.locator(".jira-link").count() == 0, "no Jira link before the integration is active"
    page.click("text=Settings › Integrations › Jira")
    # Enable integration, connection details, triggers, comments, transitions.
    page.check("input[name=active]")
    page.fill("#url", emulator.url)
    page.select_option("#jira_auth_type", "0")
    page.fill("#username", "jira-bot")
    page.fill("#password", "secret-token")
    assert page.is_checked("input[name=commit_events]") and page.is_checked("input[name=merge_requests_events]")
    page.check("input[name=comment_on_event_enabled]")
    page.check("#transitions_enabled")
    page.check("input[name=transition_mode][value=auto]")
    # Jira issues, with the seed's warning.
    page.check("#issues_enabled")
    assert page.locator("#issues-warning").is_visible()
    page.fill("#project_keys", "PROJ")
    # Vulnerabilities: the issue type dropdown is empty until refreshed from Jira.
    page.check("#vulnerabilities_enabled")
    page.fill("#project_key", "PROJ")
    assert page.locator("#vulnerabilities_issuetype option").all_inner_texts() == ["Select an issue type"]
    page.click("#refresh-issue-types")
    page.wait_for_selector("text=issue types loaded from Jira")
    names = page.locator("#vulnerabilities_issuetype option").all_inner_texts()
    assert "Bug" in names and "Sub-task" not in names, names
    page.select_option("#vulnerabilities_issuetype", label="Bug")
    # Test settings runs on the typed (unsaved) values.
    page.click("#test-settings")
    page.wait_for_selector("#test-result.ok")
    assert page.inner_text("#test-result") == "Connection successful."
    shot(page, "settings-form")
    page.click("#save")
    page.wait_for_selector("text=Jira settings saved and active.")

    saved = api(server, "GET", "/api/v4/projects/42/integrations/jira").json()
    props = saved["properties"]
    assert saved["active"] and props["url"] == emulator.url and props["username"] == "jira-bot"
    assert props["jira_issue_transition_automatic"] is True and props["issues_enabled"] is True
    assert props["project_keys"] == ["PROJ"] and props["vulnerabilities_enabled"] is True and props["project_key"] == "PROJ"
    assert props["vulnerabilities_issuetype"] == "10004" or props["vulnerabilities_issuetype"]
    assert "password" not in props
    # The form shows the saved values, the password only as "leave blank".
    assert page.input_value("#password") == ""
    assert "Leave blank" in page.get_attribute("#password", "placeholder")
    # The seed's last step: the project shows a Jira link that opens the Jira project.
    page.goto(server.url + "/projects/42")
    assert page.get_attribute(".jira-link", "href") == f"{emulator.url}/browse/PROJ"
    summary = page.inner_text("#integration-summary")
    assert "active" in summary and "Jira Server / Data Center" in summary and "move to Done" in summary and "PROJ" in summary
    assert "0 failed" in page.inner_text("#activity")
    shot(page, "project")


def test_test_settings_failure_and_validation_errors(server, emulator, page):
    register(server)
    sign_in(page, server)
    page.goto(server.url + "/projects/42/settings/integrations/jira")
    fill_connection(page, emulator, password="wrong-password")
    page.click("#test-settings")
    page.wait_for_selector("#test-result.error")
    text = page.inner_text("#test-result")
    assert text.startswith("Connection failed. Check your integration settings."), text
    # Nothing was saved by the test.
    assert api(server, "GET", "/api/v4/projects/42/integrations/jira").status_code == 404
    # A validation error shows next to its field and keeps what was typed.
    page.fill("#url", "not a url")
    page.fill("#jira_issue_prefix", "kept#")
    page.click("#save")
    page.wait_for_selector(".field-error[data-field=url]")
    assert page.inner_text(".field-error[data-field=url]") == "Web URL must be a valid URL"
    assert page.input_value("#jira_issue_prefix") == "kept#"
    assert page.input_value("#username") == "jira-bot"
    assert page.locator("text=The Jira settings were not saved.").is_visible()
    shot(page, "settings-validation")


def test_defaults_switch_overrides_and_reset(server, emulator, page):
    register(server)
    register(server, 43, "acme/api")
    sign_in(page, server)
    page.goto(server.url + "/admin/integrations/jira")
    fill_connection(page, emulator)
    page.fill("#jira_issue_prefix", "inst#")
    assert page.locator("#test-settings").count() == 0, "no Test settings at instance level"
    page.click("#save")
    page.wait_for_selector("text=Jira settings saved and active.")
    # The project now uses the default; switch it to custom settings.
    page.goto(server.url + "/projects/42/settings/integrations/jira")
    assert page.is_checked("input[name=use_inherited_settings][value=true]")
    assert page.input_value("#jira_issue_prefix") == "inst#"
    page.check("input[name=use_inherited_settings][value=false]")
    page.fill("#jira_issue_prefix", "mine#")
    page.click("#save")
    page.wait_for_selector("text=Jira settings saved and active.")
    doc = api(server, "GET", "/api/v4/projects/42/integrations/jira").json()
    assert doc["inherited"] is False and doc["properties"]["jira_issue_prefix"] == "mine#"
    # The instance page lists it among the projects using custom settings.
    page.goto(server.url + "/admin/integrations/jira")
    assert page.locator("#overrides").inner_text().count("acme/shop") == 1
    shot(page, "instance-defaults")
    # Back to the default.
    page.goto(server.url + "/projects/42/settings/integrations/jira")
    page.check("input[name=use_inherited_settings][value=true]")
    page.click("#save")
    page.wait_for_selector("text=Jira settings saved and active.")
    assert api(server, "GET", "/api/v4/projects/42/integrations/jira").json()["inherited"] is True
    # Reset asks for confirmation, then removes the default and what inherited from it.
    page.goto(server.url + "/admin/integrations/jira")
    page.on("dialog", lambda d: d.accept())
    page.check("input[name=confirm]")
    page.click("#reset")
    page.wait_for_selector("text=This integration, and inheriting projects were reset.")
    assert api(server, "GET", "/api/v4/projects/42/integrations/jira").status_code == 404


def test_jira_issues_on_server_filter_page_and_open(server, emulator, page):
    for i in range(22):
        requests.post(emulator.url + "/_emulator/issues", json={"project": "PROJ", "summary": f"Extra issue {i}", "labels": ["extra"]}, timeout=10)
    register(server)
    configure(server, emulator, issues_enabled=True, project_keys=["PROJ"])
    sign_in(page, server)
    page.goto(server.url + "/projects/42")
    page.click("text=Jira issues")
    page.wait_for_selector("#issues")
    assert page.locator("#issues tbody tr").count() == 20, "20 per page"
    assert page.locator(".page.current").inner_text() == "1"
    shot(page, "jira-issues")
    page.click(".page >> text=2")
    page.wait_for_selector(".page.current >> text=2")
    assert page.locator("#issues tbody tr").count() == 4, "24 open issues: 4 on page 2"
    # Filters: closed, search, labels.
    page.select_option("#state", "closed")
    page.click("text=Filter")
    page.wait_for_selector("#issues")
    assert page.locator("#issues tbody tr").all_inner_texts()[0].startswith("PROJ-3")
    page.select_option("#state", "all")
    page.fill("#search", "dark mode")
    page.click("text=Filter")
    rows = page.locator("#issues tbody tr").all_inner_texts()
    assert len(rows) == 1 and "Add dark mode" in rows[0]
    page.fill("#search", "")
    page.fill("#labels", "backend")
    page.click("text=Filter")
    rows = page.locator("#issues tbody tr").all_inner_texts()
    assert len(rows) == 1 and "Login fails with SSO" in rows[0]
    page.click("text=PROJ-1")
    page.wait_for_selector("#description")
    assert "Users see an error page." in page.inner_text("#description")
    assert page.get_attribute("#open-in-jira", "href") == f"{emulator.url}/browse/PROJ-1"
    shot(page, "jira-issue")


@pytest.fixture
def cloud_emulator(binaries):
    p = Process([binaries["emulator"], "--port", "0", "--seed", "--deployment", "cloud"], env=clean_env(), log_name="emulator-cloud")
    p.url = f"http://127.0.0.1:{p.port}"
    yield p
    p.stop()


def test_jira_issues_on_cloud_page_with_next(server, cloud_emulator, page):
    for i in range(22):
        requests.post(cloud_emulator.url + "/_emulator/issues", json={"project": "PROJ", "summary": f"Cloud issue {i}"}, timeout=10)
    register(server)
    configure(server, cloud_emulator, username="jira-bot@example.com", issues_enabled=True, project_keys=["PROJ"])
    assert api(server, "GET", "/api/v4/projects/42/integrations/jira").json()["properties"]["deployment_type"] == "cloud"
    sign_in(page, server)
    page.goto(server.url + "/projects/42/integrations/jira/issues")
    assert page.locator("#issues tbody tr").count() == 20
    assert page.locator(".page.current").count() == 0, "Cloud has no page numbers"
    page.click("#next-page")
    page.wait_for_selector("text=First page")
    assert page.locator("#issues tbody tr").count() == 4
    assert page.locator("#next-page").count() == 0, "the last page has no Next"


def push(server, sha, message):
    """GitLab's push webhook for project 42 with one commit on a feature branch; answers the commit's URL."""
    url = f"https://gitlab.example.com/acme/shop/-/commit/{sha}"
    body = {"object_kind": "push", "ref": "refs/heads/feature", "before": "0" * 39 + "1", "after": sha, "user_name": "John Smith",
            "user_username": "jsmith", "project_id": 42,
            "project": {"id": 42, "name": "Shop", "path_with_namespace": "acme/shop", "web_url": "https://gitlab.example.com/acme/shop",
                        "default_branch": "main"},
            "commits": [{"id": sha, "message": message, "url": url, "author": {"name": "John Smith", "email": "john@example.com"}}]}
    r = requests.post(server.url + "/webhooks/gitlab", data=json.dumps(body), timeout=10,
                      headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "hook-secret", "Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    return url


def test_retry_a_failed_delivery(server, emulator, page):
    register(server)
    configure(server, emulator)
    assert api(server, "PUT", "/api/v4/projects/42", json={"webhook_secret": "hook-secret"}).status_code == 200
    # Jira refuses the comment once with 404 (permanent: not retried on its own).
    requests.post(emulator.url + "/_emulator/faults", json={"method": "POST", "path": "/comment", "status": 404, "times": 1}, timeout=10)
    push(server, "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "Fix PROJ-1")
    sign_in(page, server)
    page.goto(server.url + "/projects/42/integrations/jira/deliveries")
    for _ in range(100):
        if page.locator(".badge.status-failed").count() == 1 and page.locator(".badge.status-pending, .badge.status-running").count() == 0:
            break
        page.wait_for_timeout(100)
        page.reload()
    assert page.locator(".badge.status-failed").count() == 1
    shot(page, "delivery-log")
    page.click("#deliveries button:has-text('Retry')")
    page.wait_for_selector("text=is queued again")
    for _ in range(100):
        if page.locator(".badge.status-failed").count() == 0 and page.locator(".badge.status-succeeded").count() == 2:
            break
        page.wait_for_timeout(100)
        page.reload()
    assert page.locator(".badge.status-succeeded").count() == 2
    issue = requests.get(emulator.url + "/_emulator/issues/PROJ-1", timeout=10).json()
    assert len(issue["comments"]) == 1


def wait_for(page, condition, tries=100):
    for _ in range(tries):
        if condition():
            return True
        page.wait_for_timeout(100)
        page.reload()
    return condition()


def test_the_delivery_log_filters_links_shows_attempts_and_retries_all_failed(server, emulator, page):
    """The delivery log: filters by status and issue, links the Jira issue and the commit, shows each attempt
    with its error, and "Retry all failed" (maintainers, CSRF, a ticked confirmation) requeues every failed one."""
    register(server)
    configure(server, emulator, comment_on_event_enabled=True)
    assert api(server, "PUT", "/api/v4/projects/42", json={"webhook_secret": "hook-secret"}).status_code == 200
    # Jira refuses both comments (404: a permanent failure, not retried on its own); the remote links go through.
    requests.post(emulator.url + "/_emulator/faults", json={"method": "POST", "path": "/comment", "status": 404, "times": 2}, timeout=10)
    commit_url = push(server, "c0ffee1bc1dcd7f8b4d5a946b0b91f9dacd73270", "Start PROJ-1 and PROJ-2")
    sign_in(page, server)
    page.goto(server.url + "/projects/42/integrations/jira/deliveries")
    assert wait_for(page, lambda: page.locator("#deliveries .badge.status-failed").count() == 2
                    and page.locator("#deliveries .badge.status-succeeded").count() == 2)

    # Links: the Jira issue in Jira, the commit in the forge.
    row = page.locator("#deliveries tbody tr", has=page.locator(".badge.status-failed")).first
    key = row.locator("td.issue a").inner_text()
    assert row.locator("td.issue a").get_attribute("href") == f"{emulator.url}/browse/{key}"
    assert row.locator("td.source a").get_attribute("href") == commit_url
    assert row.locator("td.source a").inner_text() == "commit c0ffee1b"
    # The attempts, each with its outcome and Jira's error.
    row.locator("td.attempts summary").click()
    attempt = row.locator(".attempt-log li").first
    assert attempt.is_visible() and "failed" in attempt.inner_text() and "404" in attempt.inner_text()

    # Filters: by status, by issue, both; the form keeps what was chosen.
    page.select_option("#delivery-filters select[name=status]", "failed")
    page.click("#delivery-filters button[type=submit]")
    page.wait_for_url("**status=failed**")
    assert page.locator("#deliveries tbody tr").count() == 2
    assert page.locator("#delivery-filters select[name=status]").input_value() == "failed"
    page.fill("#delivery-filters input[name=issue]", "proj-2")
    page.click("#delivery-filters button[type=submit]")
    assert page.locator("#deliveries tbody tr").count() == 1
    assert page.locator("#deliveries td.issue").inner_text() == "PROJ-2"
    page.select_option("#delivery-filters select[name=status]", "")
    page.click("#delivery-filters button[type=submit]")
    assert page.locator("#deliveries tbody tr").count() == 2, "PROJ-2's comment and remote link"
    page.fill("#delivery-filters input[name=issue]", "PROJ-404")
    page.click("#delivery-filters button[type=submit]")
    assert page.locator("text=No delivery matches this filter.").is_visible()
    shot(page, "delivery-log-filtered")
    page.click("text=Show all")

    # Without the confirmation the browser does not send the form, and the server refuses it without it too.
    page.click("#retry-all button[type=submit]")
    assert page.locator("#deliveries .badge.status-failed").count() == 2
    csrf = page.locator("#retry-all input[name=_csrf]").get_attribute("value")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    bulk = server.url + "/projects/42/integrations/jira/deliveries/retry_failed"
    unconfirmed = requests.post(bulk, data={"_csrf": csrf}, cookies=cookies, timeout=10, allow_redirects=False)
    assert unconfirmed.status_code == 400 and "Tick the box" in unconfirmed.text
    forged = requests.post(bulk, data={"confirm": "yes"}, cookies=cookies, timeout=10, allow_redirects=False)
    assert forged.status_code == 403, "no CSRF token, no retry"
    assert page.locator("#deliveries .badge.status-failed").count() == 2

    page.check("#retry-all input[name=confirm]")
    page.click("#retry-all button[type=submit]")
    page.wait_for_selector("text=2 deliveries are queued again.")
    assert wait_for(page, lambda: page.locator("#deliveries .badge.status-succeeded").count() == 4)
    assert page.locator("#retry-all").count() == 0, "nothing left to retry"
    for key in ("PROJ-1", "PROJ-2"):
        issue = requests.get(f"{emulator.url}/_emulator/issues/{key}", timeout=10).json()
        assert len(issue["comments"]) == 1, issue

    # A reporter sees the log but neither the bulk form nor the right to post it.
    token = api(server, "POST", "/api/v4/tokens", json={"name": "viewer", "role": "reporter", "scope": "project", "project_id": "42"}).json()["token"]
    requests.post(emulator.url + "/_emulator/faults", json={"method": "POST", "path": "/comment", "status": 404, "times": 1}, timeout=10)
    push(server, "d" * 40, "More on PROJ-3")
    page.context.clear_cookies()
    sign_in(page, server, token=token)
    page.goto(server.url + "/projects/42/integrations/jira/deliveries")
    assert wait_for(page, lambda: page.locator("#deliveries .badge.status-failed").count() == 1)
    assert page.locator("#retry-all").count() == 0 and page.locator("#deliveries button:has-text('Retry')").count() == 0
    reporter_csrf = page.locator("input[name=_csrf]").first.get_attribute("value") if page.locator("input[name=_csrf]").count() else ""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    refused = requests.post(bulk, data={"_csrf": reporter_csrf, "confirm": "yes"}, cookies=cookies, timeout=10, allow_redirects=False)
    assert refused.status_code == 403
    assert page.locator("#deliveries .badge.status-failed").count() == 1


def test_an_expired_token_pauses_deliveries_and_new_credentials_saved_in_the_form_resume_them(server, emulator, page):
    """Jira rejects the token (401): the delivery log, the project page and the settings page say so, the
    deliveries are paused, not failed; the new token typed into the settings form resumes them, each once."""
    register(server)
    configure(server, emulator)
    assert api(server, "PUT", "/api/v4/projects/42", json={"webhook_secret": "hook-secret"}).status_code == 200
    requests.post(emulator.url + "/_emulator/users/jira-bot/credentials", json={"expire_after_requests": 0}, timeout=10)
    push(server, "d1e5e1bc1dcd7f8b4d5a946b0b91f9dacd732701", "Start PROJ-1")
    sign_in(page, server)
    page.goto(server.url + "/projects/42/integrations/jira/deliveries")
    assert wait_for(page, lambda: page.locator("#deliveries .badge.status-paused").count() == 2)
    notice = page.locator("#credentials-rejected")
    assert notice.is_visible() and "Jira rejected the credentials" in notice.inner_text() and "2 deliveries" in notice.inner_text()
    assert page.locator("#deliveries .badge.status-failed").count() == 0
    shot(page, "credentials-rejected")
    page.goto(server.url + "/projects/42")
    assert page.locator("#credentials-rejected").is_visible()
    # The admin sets a new token in Jira, then types it into the settings form the notice links to.
    requests.post(emulator.url + "/_emulator/users/jira-bot/credentials", json={"password": "rotated-token"}, timeout=10)
    page.click("#credentials-rejected a")
    page.wait_for_selector("#jira-settings")
    assert page.locator("#credentials-rejected").is_visible()
    page.fill("#password", "rotated-token")
    page.click("#save")
    page.wait_for_selector("text=Jira settings saved and active.")
    assert page.locator("#credentials-rejected").count() == 0
    page.goto(server.url + "/projects/42/integrations/jira/deliveries")
    assert wait_for(page, lambda: page.locator("#deliveries .badge.status-succeeded").count() == 2)
    assert page.locator("#credentials-rejected").count() == 0
    issue = requests.get(emulator.url + "/_emulator/issues/PROJ-1", timeout=10).json()
    assert len(issue["comments"]) == 1 and len(issue["remote_links"]) == 1


def test_a_project_reporter_reads_issues_but_cannot_open_settings(server, emulator, page):
    register(server)
    configure(server, emulator, issues_enabled=True, project_keys=["PROJ"])
    token = api(server, "POST", "/api/v4/tokens", json={"name": "viewer", "role": "reporter", "scope": "project", "project_id": "42"}).json()["token"]
    sign_in(page, server, token)
    page.goto(server.url + "/projects/42/integrations/jira/issues")
    assert page.locator("#issues tbody tr").count() == 2
    page.goto(server.url + "/projects/42/settings/integrations/jira")
    assert page.locator("h1").inner_text() == "Forbidden"


def test_vulnerabilities_page_creates_a_jira_issue(server, emulator, page):
    register(server)
    configure(server, emulator, vulnerabilities_enabled=True, project_key="PROJ", vulnerabilities_issuetype="10001")
    report = (ROOT / "Tests/ServerTests/Fixtures/security/sast-two-findings.json").read_text()
    r = api(server, "POST", "/api/v4/projects/42/security/reports?commit_sha=abc123", data=report, headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    sign_in(page, server)
    page.goto(server.url + "/projects/42")
    page.click("text=Vulnerabilities")
    page.wait_for_selector("#vulnerabilities")
    rows = page.locator("#vulnerabilities tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator(".badge").first.inner_text() == "high"
    assert "app/views.py:42" in rows.nth(0).inner_text()
    rows.nth(0).locator(".create-jira-issue").click()
    page.wait_for_selector("text=created.")
    key = page.locator("#vulnerabilities tbody tr").nth(0).locator(".jira-issue").inner_text()
    issue = requests.get(f"{emulator.url}/_emulator/issues/{key}", timeout=10).json()
    assert issue["summary"].startswith("Investigate vulnerability: Improper neutralization")
    shot(page, "vulnerabilities")
    # The detail page is the one the Jira issue links back to.
    page.click("text=Use of a broken or risky cryptographic algorithm")
    page.wait_for_selector("text=MD5 is used to hash passwords.")
    assert page.locator(".create-jira-issue").count() == 1
    vid = page.url.rsplit("/", 1)[-1]
    assert f"/projects/42/-/security/vulnerabilities/{vid}" in page.url


def test_hostile_links_in_a_report_are_not_links(server, page):
    register(server)
    report = {
        "scan": {"type": "sast", "scanner": {"id": "evil", "name": "Evil"}},
        "vulnerabilities": [{
            "id": "1", "name": "Hostile <script>alert(1)</script>", "severity": "High",
            "description": "<img src=x onerror=alert(2)>",
            "location": {"file": "a.py", "start_line": 1},
            "identifiers": [{"type": "x", "name": "click me", "value": "1", "url": "javascript:alert(3)"}],
            "links": [{"name": "also me", "url": "JaVaScRiPt:alert(4)"}, {"name": "fine", "url": "https://example.com/ok"}],
        }],
    }
    r = api(server, "POST", "/api/v4/projects/42/security/reports", json=report)
    assert r.status_code == 201, r.text
    vid = r.json()["vulnerabilities"][0]["id"]
    sign_in(page, server)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{server.url}/projects/42/-/security/vulnerabilities/{vid}")
    assert page.locator("h1").inner_text() == "Hostile <script>alert(1)</script>", "shown as text"
    hrefs = page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href') || '')")
    assert not any(h.lower().startswith("javascript") for h in hrefs), hrefs
    assert "https://example.com/ok" in hrefs
    assert page.locator("text=click me").count() == 1 and page.locator("text=also me").count() == 1
    page.click("text=click me")
    page.click("text=also me")
    assert dialogs == []


def test_the_transition_picker_offers_what_an_issue_can_take(server, emulator, page):
    # With the page's script: "Load transitions" fills choices in place; a choice goes into the field last used.
    register(server)
    configure(server, emulator)
    sign_in(page, server)
    page.goto(server.url + "/projects/42/settings/integrations/jira")
    page.check("#transitions_enabled")
    page.check("input[name=transition_mode][value=custom]")
    page.fill("#transitions_issue", "proj-1")
    page.click("#load-transitions")
    page.wait_for_selector("#transition-choices button.chip")
    names = page.locator("#transition-choices button.chip").all_inner_texts()
    assert names == ["In Progress", "Done"], names  # PROJ-1 is in To Do: the emulator's workflow offers these
    assert "2 transitions PROJ-1 offers now." in page.inner_text("#transitions-status")
    page.click("#jira_issue_transition_id")
    page.click("#transition-choices button.chip >> text=In Progress")
    page.click("#transition-choices button.chip >> text=Done")
    assert page.input_value("#jira_issue_transition_id") == "In Progress, Done"
    page.click("#merge_request_opened_transition")
    page.click("#transition-choices button.chip >> text=In Progress")
    assert page.input_value("#merge_request_opened_transition") == "In Progress"
    shot(page, "transition-picker")
    page.click("#save")
    page.wait_for_selector("text=Jira settings saved and active.")
    properties = api(server, "GET", "/api/v4/projects/42/integrations/jira").json()["properties"]
    assert properties["jira_issue_transition_id"] == "In Progress, Done"
    assert properties["merge_request_opened_transition"] == "In Progress"


def test_the_transition_picker_works_without_javascript(server, emulator, browser):
    # Without the script the form comes back with the choices listed, the typed values kept; names are typed.
    register(server)
    configure(server, emulator)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, server)
        page.goto(server.url + "/projects/42/settings/integrations/jira")
        page.fill("#closing_branches", "main, release/*")
        page.fill("#transitions_issue", "PROJ-1")
        page.click("#load-transitions")
        page.wait_for_selector("#transition-choices li")
        listed = page.inner_text("#transition-choices")
        assert "In Progress" in listed and "id 21" in listed and "Done" in listed and "id 31" in listed, listed
        assert page.input_value("#closing_branches") == "main, release/*", "what was typed stays"
        assert page.input_value("#transitions_issue") == "PROJ-1"
        # An issue Jira does not know says so.
        page.fill("#transitions_issue", "PROJ-999")
        page.click("#load-transitions")
        page.wait_for_selector("text=Jira knows no issue PROJ-999")
    finally:
        context.close()
