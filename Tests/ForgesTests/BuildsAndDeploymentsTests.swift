import Forges
import Foundation
import Integration
import Testing

/// Pipelines, workflow runs and deployments (the real payloads in `Fixtures/`) turned into Jira Cloud's builds
/// and deployments.
@Suite("Builds and deployments")
struct BuildsAndDeploymentsTests {
    static let extractor = try! ReferenceExtractor()
    typealias Fixture = DevelopmentInfoTests

    static func pipeline(_ event: ForgeEvent) throws -> PipelineEvent {
        guard case .pipeline(let p) = event else { throw Unexpected() }
        return p
    }
    static func deployment(_ event: ForgeEvent) throws -> DeploymentEvent {
        guard case .deployment(let d) = event else { throw Unexpected() }
        return d
    }
    struct Unexpected: Error {}

    @Test("GitLab's pipeline: number, state, ref, head commit, merge request title, latest time")
    func gitlabPipeline() throws {
        let p = try Self.pipeline(try Fixture.gitlab("pipeline", event: "Pipeline Hook"))
        #expect(p.runNumber == 3 && p.state == .successful && p.ref == "master" && p.workflowID.isEmpty)
        #expect(p.sha == "bcbb5ec396a2c0f828686f14fac9b80b780504f2" && p.commitMessage == "test\n" && p.titles == ["Test"])
        #expect(p.updatedAt == "2016-08-12 15:26:29 UTC" && p.url == "http://example.com/gitlab-org/gitlab-test/-/pipelines/31")
        let named = try Self.pipeline(
            try Fixture.gitlab("pipeline", event: "Pipeline Hook") { doc in
                var c = doc["commit"] as! [String: Any]
                c["message"] = "PROJ-7 speed up"
                doc["commit"] = c
            })
        let build = try #require(BuildsAndDeployments.build(named, extractor: Self.extractor))
        #expect(build["issueKeys"] == .array([.string("PROJ-7")]) && build["pipelineId"] == .string("gitlab-1") && build["buildNumber"] == .number(3))
        #expect(build["references"]?.array?.first?["ref"]?["uri"] == .string("http://192.168.64.1:3005/gitlab-org/gitlab-test/-/tree/master"))
        #expect(BuildsAndDeployments.build(p, extractor: Self.extractor) == nil, "no key: no build")
    }

    @Test("GitLab's pipeline statuses map to Jira's build states")
    func gitlabStates() throws {
        let expected: [String: PipelineEvent.State] = [
            "created": .pending, "waiting_for_resource": .pending, "preparing": .pending, "pending": .pending, "scheduled": .pending,
            "manual": .pending, "running": .inProgress, "success": .successful, "failed": .failed, "canceled": .cancelled,
            "skipped": .cancelled, "something new": .unknown,
        ]
        for (status, state) in expected {
            let p = try Self.pipeline(
                try Fixture.gitlab("pipeline", event: "Pipeline Hook") { doc in
                    var a = doc["object_attributes"] as! [String: Any]
                    a["status"] = status
                    doc["object_attributes"] = a
                })
            #expect(p.state == state, "\(status)")
        }
    }

    @Test("GitHub's workflow run: workflow, number, state from status and conclusion, head commit and title")
    func githubWorkflowRun() throws {
        let p = try Self.pipeline(try Fixture.github("github-workflow_run.completed", event: "workflow_run"))
        #expect(p.workflowID == "2823525" && p.runNumber == 163 && p.state == .successful && p.ref == "master")
        #expect(
            p.commitMessage == "build(test): check workflow run event payload"
                && p.titles == ["ci(action): update actions/setup-node digest to 8c91899"])
        #expect(p.updatedAt == "2020-10-05T16:33:49Z")
        let cases: [(String, String?, PipelineEvent.State)] = [
            ("queued", nil, .pending), ("in_progress", nil, .inProgress), ("completed", "failure", .failed),
            ("completed", "timed_out", .failed), ("completed", "cancelled", .cancelled), ("completed", "skipped", .cancelled),
            ("completed", "neutral", .unknown), ("waiting", nil, .pending),
        ]
        for (status, conclusion, state) in cases {
            let run = try Self.pipeline(
                try Fixture.github("github-workflow_run.completed", event: "workflow_run") { doc in
                    var r = doc["workflow_run"] as! [String: Any]
                    r["status"] = status
                    r["conclusion"] = conclusion ?? NSNull()
                    doc["workflow_run"] = r
                })
            #expect(run.state == state, "\(status) \(conclusion ?? "-")")
        }
    }

    @Test("GitLab's deployment: id, environment and tier, state, commit from its URL, the offset of status_changed_at")
    func gitlabDeployment() throws {
        let d = try Self.deployment(try Fixture.gitlab("deployment", event: "Deployment Hook"))
        #expect(d.deploymentID == 15 && d.environment == "staging" && d.tier == "staging" && d.state == .successful)
        #expect(d.sha == "279484c09fbe69ededfced8c1bb6e6d24616b468" && d.commitMessage == "Add new file")
        #expect(d.url == "http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796")
        #expect(JiraTimestamp(try #require(d.updatedAt))?.millis == JiraTimestamp("2021-04-28T19:50:00Z")?.millis)
        var keyed = d
        keyed.commitMessage = "PROJ-2 ship"
        let item = try #require(BuildsAndDeployments.deployment(keyed, extractor: Self.extractor))
        #expect(item["environment"]?["type"] == .string("staging") && item["description"] == .string("PROJ-2 ship"))
        #expect(item["pipeline"]?["id"] == .string("gitlab-30"))
        #expect(BuildsAndDeployments.deployment(d, extractor: Self.extractor) == nil, "no key: no deployment")
    }

    @Test("GitHub's deployment status: state, environment, production flag; inactive is no event")
    func githubDeploymentStatus() throws {
        let d = try Self.deployment(try Fixture.github("github-deployment_status.created", event: "deployment_status"))
        #expect(d.deploymentID == 145988746 && d.environment == "production" && d.state == .successful && d.ref == "master")
        #expect(d.sha == "f95f852bd8fca8fcc58a9a2d6c842781e32a215e" && d.updatedAt == "2019-05-15T15:20:55Z")
        let inactive = try Fixture.json("github-deployment_status.created") { doc in
            var s = doc["deployment_status"] as! [String: Any]
            s["state"] = "inactive"
            doc["deployment_status"] = s
        }
        #expect(try GitHubWebhook.decode(event: "deployment_status", document: GitHubWebhook.parse(inactive)) == nil)
    }

    @Test("environment types: GitLab's tier first, then the name")
    func environmentTypes() {
        let cases: [(String, String?, String)] = [
            ("prod", nil, "production"), ("Production", nil, "production"), ("staging-eu", nil, "staging"), ("stage", nil, "staging"),
            ("test", nil, "testing"), ("QA", nil, "testing"), ("dev", nil, "development"), ("review/feature-1", nil, "unmapped"),
            ("preview", nil, "unmapped"), ("eu-1", "production", "production"), ("anything", "other", "unmapped"),
            ("review/dev-1", nil, "development"), ("productive", nil, "unmapped"),
        ]
        for (name, tier, type) in cases {
            #expect(BuildsAndDeployments.environmentType(name: name, tier: tier) == type, "\(name) \(tier ?? "-")")
        }
    }

    @Test("each later state of a run has a greater sequence number, also within the same millisecond")
    func sequences() throws {
        let project = ForgeProject(id: 1, pathWithNamespace: "a/b", name: "b", namespaceName: "a", webURL: "https://g/a/b", defaultBranch: "main")
        func sequence(_ state: PipelineEvent.State, _ time: String) -> Double {
            let e = PipelineEvent(
                project: project, workflowID: "", workflowName: "", runNumber: 1, state: state, ref: "PROJ-1", sha: "", commitMessage: "",
                titles: [], url: "https://g/p/1", updatedAt: time)
            return BuildsAndDeployments.build(e, extractor: Self.extractor)?["updateSequenceNumber"]?.number ?? -1
        }
        let t = "2024-03-01T10:00:00Z"
        #expect(sequence(.pending, t) < sequence(.inProgress, t))
        #expect(sequence(.inProgress, t) < sequence(.successful, t))
        #expect(sequence(.successful, t) < sequence(.inProgress, "2024-03-01T10:00:00.001Z"), "a later time wins whatever the state")
        // A time no forge writes cannot overflow the number.
        #expect(sequence(.successful, "9999-12-31T23:59:59Z") > 0)
    }

    @Test("a request holds each build once, at its greatest sequence number, and at most 100; rejections are read by key")
    func bodiesAndAnswers() throws {
        func build(_ number: Int, _ sequence: Int, _ state: String = "successful") -> JSONValue {
            .object([
                "pipelineId": .string("p"), "buildNumber": .number(Double(number)), "updateSequenceNumber": .number(Double(sequence)),
                "state": .string(state),
            ])
        }
        let body = try #require(BuildsAndDeployments.body(.builds, [build(1, 5, "in_progress"), build(1, 9), build(1, 7, "failed"), build(2, 1)]))
        let builds = try #require(body["builds"]?.array)
        #expect(builds.count == 2 && builds[0]["state"] == .string("successful"))
        #expect(BuildsAndDeployments.body(.builds, (1...101).map { build($0, 1) }) == nil)
        #expect(BuildsAndDeployments.body(.builds, (1...100).map { build($0, 1) }) != nil)
        let answer = try JSONValue.parse(
            #"{"acceptedBuilds": [], "rejectedBuilds": [{"key": {"pipelineId": "p", "buildNumber": 2}, "errors": [{"message": "no issue"}]}]}"#)
        #expect(BuildsAndDeployments.rejections(.builds, answer) == ["p#2": "no issue"])
    }
}
