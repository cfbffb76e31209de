import Foundation
import Integration
import JiraEmulator
import Testing

/// Builds and deployments end to end: the forges' pipeline, workflow-run and deployment webhooks (their real
/// payloads, with only the fields a test needs changed) into the real server, builds and deployments out to
/// the emulator acting as Atlassian's gateway, over HTTP.
@Suite("Builds and deployments, end to end")
struct BuildsDeploymentsTests {
    static let settings: [String: JSONValue] = [
        "builds_enabled": true, "deployments_enabled": true, "commit_events": false, "merge_requests_events": false,
        "jira_oauth_client_id": .string(EmulatedDevelopment.defaultClientID),
        "jira_oauth_client_secret": .string(EmulatedDevelopment.defaultClientSecret),
    ]
    static let sha = "bcbb5ec396a2c0f828686f14fac9b80b780504f2"

    func setUp(_ h: Harness, _ forge: PanelForge, _ extra: [String: JSONValue] = [:]) async throws {
        _ = await h.emulator.addIssue(projectKey: "PROJ", summary: "login")
        try await forge.configure(h, Self.settings.merging(extra) { $1 })
    }

    /// What Jira keeps of `api` (`builds`, `deployments`) for `key`.
    func stored(_ h: Harness, _ api: String, _ key: String = "PROJ-1") async throws -> [JSONValue] {
        try JSONValue.parse(try await h.get(h.emulatorURL + "/_emulator/\(api)/\(key)", headers: [:]).text)[api]?.array ?? []
    }

    func gatewayRequests(_ h: Harness, _ api: String) async -> [RecordedRequest] {
        await h.emulator.requests.filter { $0.path.hasPrefix("/jira/\(api)/") }
    }

    /// GitLab's pipeline example for project 42 with `status`, its times, and a head commit `message`.
    static func gitlabPipeline(
        status: String, created: String = "2024-03-01 10:00:00 UTC", finished: String? = nil, iid: Int = 3,
        message: String = "PROJ-1 log in", ref: String = "main"
    ) -> String {
        var doc = Payloads.load("pipeline")
        Payloads.retarget(&doc, defaultBranch: "main")
        var attrs = doc["object_attributes"] as! [String: Any]
        attrs["status"] = status
        attrs["created_at"] = created
        attrs["finished_at"] = finished ?? NSNull()
        attrs["iid"] = iid
        attrs["ref"] = ref
        attrs["url"] = "https://gitlab.example.com/acme/web/shop/-/pipelines/\(30 + iid)"
        doc["object_attributes"] = attrs
        var commit = doc["commit"] as! [String: Any]
        commit["message"] = message
        doc["commit"] = commit
        // The example ran for a merge request titled "Test": no key there.
        return ForgePayloads.text(doc)
    }

    @Test("a GitLab pipeline running, then succeeding: one build, in_progress then successful; the log shows it")
    func gitlabPipeline() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .gitlab)
            #expect(try await h.webhook("Pipeline Hook", Self.gitlabPipeline(status: "running"), key: "p-1").status == 202)
            try await h.settle()
            var builds = try await stored(h, "builds")
            #expect(builds.count == 1 && builds.first?["state"] == "in_progress", "\(builds)")
            _ = try await h.webhook(
                "Pipeline Hook", Self.gitlabPipeline(status: "success", finished: "2024-03-01 10:03:00 UTC"), key: "p-2")
            let log = try await h.settle()
            builds = try await stored(h, "builds")
            #expect(builds.count == 1, "the same run, replaced")
            let build = try #require(builds.first)
            #expect(build["state"] == "successful")
            #expect(build["pipelineId"] == "gitlab-42" && build["buildNumber"] == 3)
            #expect(build["url"] == "https://gitlab.example.com/acme/web/shop/-/pipelines/33")
            #expect(build["references"]?.array?.first?["commit"]?["id"] == .string(Self.sha))
            #expect(build["lastUpdated"] == "2024-03-01T10:03:00.000Z")
            #expect(log.count == 2 && log.allSatisfy { $0["action"] == "build" && $0["status"] == "succeeded" }, "\(log)")
            #expect(log.first?["answer"]?.string?.hasPrefix("Jira accepted build Pipeline for branch: master #3 (successful)") == true, "\(log)")
            #expect(log.first?["build_or_deployment"]?["state"] == "successful")
            // The project page says what is sent, and when it last was.
            let cookie = try await JiraCloudLimitsTests.session(h)
            let page = try await h.request(.GET, "/projects/42", headers: [("Cookie", cookie)]).text
            #expect(page.contains("<dt>Builds</dt><dd class=\"cloud-part\">on, last sent <time"), "\(page)")
            #expect(page.contains("<dt>Development panel</dt><dd class=\"cloud-part\"><span class=\"muted\">off</span>"))
            let deliveries = try await h.request(.GET, "/projects/42/integrations/jira/deliveries", headers: [("Cookie", cookie)]).text
            #expect(deliveries.contains("build Pipeline for branch: master #3 (successful)"))
        }
    }

    @Test("a later state delivered before an earlier one: the later one stays")
    func lateEarlierState() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .gitlab)
            _ = try await h.webhook("Pipeline Hook", Self.gitlabPipeline(status: "failed", finished: "2024-03-01 10:05:00 UTC"), key: "l-1")
            try await h.settle()
            _ = try await h.webhook("Pipeline Hook", Self.gitlabPipeline(status: "running"), key: "l-2")
            let log = try await h.settle()
            #expect(log.allSatisfy { $0["status"] == "succeeded" })
            #expect(try await stored(h, "builds").first?["state"] == "failed")
            #expect(await gatewayRequests(h, "builds").count == 2, "both were sent; Jira kept the later")
        }
    }

    @Test("a run without a key sends nothing; on Jira Data Center a build is skipped with the reason")
    func noKeyAndDataCenter() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .gitlab)
            _ = try await h.webhook("Pipeline Hook", Self.gitlabPipeline(status: "success", message: "Tidy up", ref: "chore"), key: "n-1")
            #expect(try await h.settle().isEmpty)
            #expect(await gatewayRequests(h, "builds").isEmpty)
        }
        try await Harness.run { h in
            try await setUp(h, .gitlab)
            _ = try await h.webhook("Pipeline Hook", Self.gitlabPipeline(status: "success"), key: "dc-1")
            let log = try await h.settle()
            #expect(log.first?["status"] == "skipped" && log.first?["last_error"]?.string?.contains("Data Center") == true, "\(log)")
        }
    }

    @Test("builds off: a pipeline sends nothing, deployments still go")
    func buildsOff() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .gitlab, ["builds_enabled": false])
            _ = try await h.webhook("Pipeline Hook", Self.gitlabPipeline(status: "success"), key: "o-1")
            _ = try await h.webhook("Deployment Hook", Self.gitlabDeployment(environment: "production", tier: "production"), key: "o-2")
            let log = try await h.settle()
            #expect(log.map(\.["action"]) == ["deployment"], "\(log)")
        }
    }

    @Test("a build whose keys Jira does not know is rejected: failed with Atlassian's message, not retried")
    func unknownKeysRejected() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .gitlab)
            _ = try await h.webhook("Pipeline Hook", Self.gitlabPipeline(status: "success", message: "OPS-404 fix"), key: "u-1")
            let log = try await h.settle()
            let d = try #require(log.first)
            #expect(d["status"] == "failed" && d["attempts"] == 1, "\(d)")
            #expect(d["last_error"]?.string?.contains("associated with no issue that exists: OPS-404") == true, "\(d)")
        }
    }

    @Test("credentials without the Builds permission: failed, with the reason")
    func forbidden() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            let added = try await h.http.execute(
                DevelopmentPanelTests.post(
                    h.emulatorURL + "/_emulator/oauth_clients",
                    #"{"client_id": "panel-only", "client_secret": "s", "permissions": ["development_information"]}"#),
                timeout: .seconds(10))
            #expect(added.status == .created)
            try await setUp(h, .gitlab, ["jira_oauth_client_id": "panel-only", "jira_oauth_client_secret": "s"])
            _ = try await h.webhook("Pipeline Hook", Self.gitlabPipeline(status: "success"), key: "f-1")
            let d = try #require(try await h.settle().first)
            #expect(d["status"] == "failed" && d["last_error"]?.string?.contains("lack the Builds permission") == true, "\(d)")
        }
    }

    @Test("20 pipelines of one project at once cost at most 5 requests, and every build arrives")
    func burst() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .gitlab)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 1...20 {
                    group.addTask {
                        try await h.webhook(
                            "Pipeline Hook", Self.gitlabPipeline(status: "success", finished: "2024-03-01 10:03:00 UTC", iid: n), key: "b-\(n)"
                        ).status
                    }
                }
                for try await status in group { #expect(status == 202) }
            }
            let log = try await h.settle()
            #expect(log.count == 20 && log.allSatisfy { $0["status"] == "succeeded" })
            let requests = await gatewayRequests(h, "builds").count
            #expect(requests <= 5, "\(requests) requests")
            #expect(try await stored(h, "builds").count == 20)
        }
    }

    @Test("a failed GitHub workflow run: a failed build, keyed by its head commit")
    func githubWorkflowRun() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .github)
            var doc = ForgePayloads.load("github", "workflow_run.completed")
            ForgePayloads.retarget(&doc, (186853002, "Codertocat/Hello-World"))
            var run = doc["workflow_run"] as! [String: Any]
            run["conclusion"] = "failure"
            var head = run["head_commit"] as! [String: Any]
            head["message"] = "PROJ-1 check the login"
            run["head_commit"] = head
            doc["workflow_run"] = run
            #expect(try await h.github("workflow_run", ForgePayloads.text(doc), delivery: "w-1").status == 202)
            try await PanelForge.github.settle(h)
            let build = try #require(try await stored(h, "builds").first)
            #expect(build["state"] == "failed")
            #expect(build["pipelineId"] == "github-186853002-2823525" && build["buildNumber"] == 163)
            #expect(build["url"] == "https://github.com/octo-org/octo-repo/actions/runs/289782451")
            #expect(build["references"]?.array?.first?["ref"]?["name"] == "master")
        }
    }

    @Test("a Gitea action run: a build (Gitea's workflow_run, with the fields of its ActionWorkflowRun)")
    func giteaWorkflowRun() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .gitea)
            let push = ForgePayloads.load("gitea", "push")
            let doc: [String: Any] = [
                "action": "completed",
                "workflow": ["id": "build.yml", "name": "CI", "path": ".gitea/workflows/build.yml", "state": "active"],
                "workflow_run": [
                    "id": 412, "run_number": 27, "run_attempt": 1, "status": "completed", "conclusion": "success",
                    "head_branch": "PROJ-1-login", "head_sha": Self.sha, "display_title": "Log in with SSO", "event": "push",
                    "html_url": "http://try.gitea.io/gogits/hello-world/actions/runs/27", "path": "build.yml@refs/heads/PROJ-1-login",
                    "started_at": "2024-03-01T10:00:00Z", "completed_at": "2024-03-01T10:02:00Z",
                ],
                "repository": push["repository"]!, "sender": push["sender"]!,
            ]
            #expect(try await h.gitea("workflow_run", ForgePayloads.text(doc), delivery: "g-1").status == 202)
            try await PanelForge.gitea.settle(h)
            let build = try #require(try await stored(h, "builds").first)
            #expect(build["state"] == "successful" && build["pipelineId"] == "gitea-61-build.yml" && build["buildNumber"] == 27)
            #expect(build["displayName"] == "CI #27" && build["lastUpdated"] == "2024-03-01T10:02:00.000Z")
        }
    }

    /// GitLab's deployment example for project 42 in `environment`.
    static func gitlabDeployment(environment: String, tier: String?, status: String = "success", title: String = "PROJ-1 ship it") -> String {
        var doc = Payloads.load("deployment")
        Payloads.retarget(&doc, defaultBranch: "main")
        doc["environment"] = environment
        doc["environment_tier"] = tier ?? NSNull()
        doc["status"] = status
        doc["commit_title"] = title
        doc["commit_url"] = "https://gitlab.example.com/acme/web/shop/-/commit/\(sha)"
        return ForgePayloads.text(doc)
    }

    @Test("a GitLab production deployment: a deployment to a production environment")
    func gitlabDeployment() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .gitlab)
            #expect(
                try await h.webhook("Deployment Hook", Self.gitlabDeployment(environment: "production", tier: "production"), key: "d-1").status
                    == 202)
            // An environment without a tier is typed by its name.
            _ = try await h.webhook("Deployment Hook", Self.gitlabDeployment(environment: "staging-eu", tier: nil), key: "d-2")
            let log = try await h.settle()
            #expect(log.allSatisfy { $0["action"] == "deployment" && $0["status"] == "succeeded" }, "\(log)")
            let deployments = try await stored(h, "deployments")
            #expect(deployments.count == 2)
            let production = try #require(deployments.first { $0["environment"]?["id"] == "production" })
            #expect(production["environment"]?["type"] == "production" && production["state"] == "successful")
            #expect(production["deploymentSequenceNumber"] == 15)
            #expect(production["url"] == "http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796")
            #expect(production["lastUpdated"] == "2021-04-28T19:50:00.000Z", "GitLab's +0200 offset")
            #expect(deployments.first { $0["environment"]?["id"] == "staging-eu" }?["environment"]?["type"] == "staging")
        }
    }

    @Test("a successful GitHub deployment status: a successful deployment; inactive sends nothing")
    func githubDeploymentStatus() async throws {
        try await Harness.run(DevelopmentPanelTests.cloud) { h in
            try await setUp(h, .github)
            func status(_ state: String, delivery: String) async throws -> Int {
                var doc = ForgePayloads.load("github", "deployment_status.created")
                var deployment = doc["deployment"] as! [String: Any]
                deployment["ref"] = "PROJ-1-login"
                doc["deployment"] = deployment
                var s = doc["deployment_status"] as! [String: Any]
                s["state"] = state
                doc["deployment_status"] = s
                return try await h.github("deployment_status", ForgePayloads.text(doc), delivery: delivery).status
            }
            #expect(try await status("success", delivery: "s-1") == 202)
            #expect(try await status("inactive", delivery: "s-2") == 202)
            let log = try await PanelForge.github.settle(h)
            #expect(log.count == 1)
            let deployment = try #require(try await stored(h, "deployments").first)
            #expect(deployment["state"] == "successful" && deployment["environment"]?["type"] == "production")
            #expect(deployment["deploymentSequenceNumber"] == 145988746 && deployment["label"] == "PROJ-1-login")
        }
    }
}
