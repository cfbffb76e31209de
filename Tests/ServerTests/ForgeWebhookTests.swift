import Foundation
import Integration
import JiraEmulator
import Store
import Testing

/// GitHub's and Gitea's webhooks end to end: the real server, the Jira emulator, real payloads.
@Suite("GitHub and Gitea webhooks")
struct ForgeWebhookTests {
    static let repo = "github%3A186853002"
    static let web = "https://github.com/Codertocat/Hello-World"
    static let sha = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"

    func githubRepository(_ h: Harness, extra: [String: JSONValue] = [:]) async throws {
        try await h.configureRepository(
            forge: "github", id: 186853002, path: "Codertocat/Hello-World", webURL: Self.web, secret: "gh-secret", extra: extra)
        await h.emulator.addIssue(projectKey: "PROJ", summary: "Login")
    }

    @Test("a GitHub push that mentions a key adds a remote link and a comment with GitHub's URLs and words")
    func githubPushMention() async throws {
        try await Harness.run { h in
            try await githubRepository(h)
            let r = try await h.github("push", ForgePayloads.githubPush(commits: [(Self.sha, "Fix login for PROJ-1")]), delivery: "d-1")
            #expect(r.status == 202, "\(r.text)")
            let log = try await h.settle(project: Self.repo, expecting: 2)
            #expect(log.allSatisfy { $0["status"] == "succeeded" }, "\(log)")
            let issue = await h.issue("PROJ-1")
            #expect(
                issue.comments.map(\.body) == [
                    "[Codertocat|https://github.com/Codertocat] mentioned this issue in [a commit|\(Self.web)/commit/\(Self.sha)] of [Codertocat / Hello-World|\(Self.web)] on branch [feature|\(Self.web)/tree/feature]:{quote}Fix login for PROJ-1{quote}"
                ])
            let link = try #require(issue.remoteLinks.first)
            let object = try JSONValue.parse(link.objectJSON)
            #expect(object["url"] == .string("\(Self.web)/commit/\(Self.sha)"))
            #expect(object["icon"]?["title"] == "GitHub")
            #expect(object["title"] == "Commit - Fix login for PROJ-1")
        }
    }

    @Test("a GitHub pull request that mentions a key links the pull request, in pull request words")
    func githubPullRequestMention() async throws {
        try await Harness.run { h in
            try await githubRepository(h)
            let r = try await h.github("pull_request", ForgePayloads.githubPullRequest(action: "opened", title: "PROJ-1 Update the README"))
            #expect(r.status == 202, "\(r.text)")
            try await h.settle(project: Self.repo, expecting: 2)
            let issue = await h.issue("PROJ-1")
            #expect(issue.comments.first?.body.contains("mentioned this issue in [a pull request|\(Self.web)/pull/2]") == true, "\(issue.comments)")
            let object = try JSONValue.parse(try #require(issue.remoteLinks.first).objectJSON)
            #expect(object["title"] == "Pull request - PROJ-1 Update the README")
            // An edit re-reads the text but posts nothing twice.
            _ = try await h.github("pull_request", ForgePayloads.githubPullRequest(action: "edited", title: "PROJ-1 Update the README", body: "more"))
            try await h.settle(project: Self.repo)
            #expect(await h.issue("PROJ-1").comments.count == 1)
        }
    }

    @Test("GitHub signatures: missing, wrong and of another body are refused and store nothing")
    func githubSignatures() async throws {
        try await Harness.run { h in
            try await githubRepository(h)
            let body = ForgePayloads.githubPush(commits: [(Self.sha, "PROJ-1")])
            let missing = try await h.github("push", body, secret: nil)
            #expect(missing.status == 401 && missing.text.contains("X-Hub-Signature-256 header is missing"))
            let wrong = try await h.github("push", body, secret: "not-the-secret")
            #expect(wrong.status == 401 && wrong.text.contains("does not match"))
            let tampered = try await h.request(
                .POST, "/webhooks/github", raw: body + " ",
                headers: [
                    ("X-GitHub-Event", "push"), ("Content-Type", "application/json"),
                    ("X-Hub-Signature-256", "sha256=" + TokenSecret.signature(of: Data(body.utf8), secret: "gh-secret")),
                ])
            #expect(tampered.status == 401)
            #expect(try await h.store.queueDepth().events == 0)
            #expect(try await h.admin(.GET, "/api/v4/projects/\(Self.repo)/integrations/jira/deliveries").json.array?.isEmpty == true)
        }
    }

    @Test("a rotated secret: the previous one works for 24 hours, previous_webhook_secret null ends it")
    func rotation() async throws {
        try await Harness.run { h in
            try await githubRepository(h)
            let body = ForgePayloads.githubPush(commits: [(Self.sha, "no key")])
            #expect(try await h.admin(.PUT, "/api/v4/projects/\(Self.repo)", json: ["webhook_secret": "gh-secret-2"]).status == 200)
            #expect(try await h.github("push", body, secret: "gh-secret-2", delivery: "r-1").status == 202)
            #expect(try await h.github("push", body, secret: "gh-secret", delivery: "r-2").status == 202, "the previous secret is still valid")
            let project = try await h.admin(.PUT, "/api/v4/projects/\(Self.repo)", json: ["previous_webhook_secret": .null])
            #expect(project.status == 200 && !project.text.contains("gh-secret"), "no secret is ever returned")
            #expect(try await h.github("push", body, secret: "gh-secret", delivery: "r-3").status == 401)
            #expect(try await h.github("push", body, secret: "gh-secret-2", delivery: "r-4").status == 202)
        }
    }

    @Test("a GitHub redelivery (same X-GitHub-Delivery) gets the first event id and posts once")
    func githubRedelivery() async throws {
        try await Harness.run { h in
            try await githubRepository(h)
            let body = ForgePayloads.githubPush(commits: [(Self.sha, "PROJ-1 fix")])
            let first = try await h.github("push", body, delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958")
            let again = try await h.github("push", body, delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958")
            #expect(first.status == 202 && again.status == 202)
            #expect(first.json["event_id"] == again.json["event_id"])
            try await h.settle(project: Self.repo, expecting: 2)
            #expect(await h.issue("PROJ-1").comments.count == 1)
        }
    }

    @Test("a push to GitHub's default branch closes its keys; the solved comment names the commit")
    func githubPushCloses() async throws {
        try await Harness.run { h in
            try await githubRepository(h, extra: ["jira_issue_transition_automatic": true])
            let r = try await h.github("push", ForgePayloads.githubPush(ref: "refs/heads/master", commits: [(Self.sha, "Closes PROJ-1")]))
            #expect(r.status == 202)
            try await h.settle(project: Self.repo)
            let issue = await h.issue("PROJ-1")
            #expect(issue.resolution != nil)
            #expect(issue.comments.map(\.body).contains("Issue solved with [\(Self.sha)|\(Self.web)/commit/\(Self.sha)]."))
        }
    }

    @Test("a merged pull request closes its keys with its merge commit; one closed unmerged changes nothing")
    func githubMergeCloses() async throws {
        try await Harness.run { h in
            try await githubRepository(h, extra: ["jira_issue_transition_automatic": true])
            await h.emulator.addIssue(projectKey: "PROJ", summary: "Other")
            let unmerged = try await h.github(
                "pull_request", ForgePayloads.githubPullRequest(action: "closed", title: "Closes PROJ-2", merged: false))
            #expect(unmerged.status == 202)
            try await h.settle(project: Self.repo, expecting: 0)
            let untouched = await h.issue("PROJ-2")
            #expect(untouched.resolution == nil && untouched.comments.isEmpty)
            let merge = "c4295bd74fb0f4fda03689c3df3f2803b658fd85"
            let merged = try await h.github(
                "pull_request", ForgePayloads.githubPullRequest(action: "closed", title: "Closes PROJ-1", merged: true, mergeCommit: merge))
            #expect(merged.status == 202)
            try await h.settle(project: Self.repo)
            let issue = await h.issue("PROJ-1")
            #expect(issue.resolution != nil)
            #expect(issue.comments.map(\.body).contains("Issue solved with [\(merge)|\(Self.web)/commit/\(merge)]."))
        }
    }

    @Test("GitHub's ping is answered 200 and stores nothing; other events are acknowledged and ignored")
    func githubPing() async throws {
        try await Harness.run { h in
            try await githubRepository(h)
            var ping = ForgePayloads.load("github", "push")
            ping = ["zen": "Keep it logically awesome.", "hook_id": 1, "repository": ping["repository"]!, "sender": ping["sender"]!]
            let r = try await h.github("ping", ForgePayloads.text(ping))
            #expect(r.status == 200 && r.json["message"] == "pong")
            let star = try await h.github("star", ForgePayloads.text(ping))
            #expect(star.status == 202 && star.json["event_id"] == .null)
            #expect(try await h.store.queueDepth().events == 0)
            #expect(try await h.github("ping", ForgePayloads.text(ping), secret: "wrong").status == 401)
        }
    }

    @Test("a form-encoded GitHub webhook (payload=<json>) is signed over the raw body and accepted")
    func githubForm() async throws {
        try await Harness.run { h in
            try await githubRepository(h)
            let r = try await h.github("push", ForgePayloads.githubPush(commits: [(Self.sha, "PROJ-1 form")]), form: true)
            #expect(r.status == 202, "\(r.text)")
            try await h.settle(project: Self.repo, expecting: 2)
            #expect(await h.issue("PROJ-1").comments.count == 1)
        }
    }

    @Test("a GitHub repository and a GitLab project with the same id and path keep their own settings and Jira")
    func sameIdOnTwoForges() async throws {
        try await Harness.run { h in
            // GitLab project 42 acme/web/shop talks to the emulator as 127.0.0.1; the GitHub repository 42
            // acme/web/shop to the same emulator as localhost: two Jira sites.
            try await h.configure()
            let localhost = h.emulatorURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")
            try await h.configureRepository(
                forge: "github", id: 42, path: "acme/web/shop", webURL: "https://github.com/acme/web/shop",
                secret: "gh-secret", jiraURL: localhost)
            await h.emulator.addIssue(projectKey: "PROJ", summary: "Login")
            #expect(try await h.admin(.GET, "/api/v4/projects/42/integrations/jira").json["properties"]?["url"] == .string(h.emulatorURL))
            #expect(try await h.admin(.GET, "/api/v4/projects/github:42/integrations/jira").json["properties"]?["url"] == .string(localhost))
            #expect(try await h.admin(.GET, "/api/v4/projects/github%3Aacme%2Fweb%2Fshop").json["forge"] == "github")
            #expect(try await h.admin(.GET, "/api/v4/projects/acme%2Fweb%2Fshop").json["forge"] == "gitlab")
            let r = try await h.github(
                "push", ForgePayloads.githubPush(commits: [(Self.sha, "PROJ-1 from GitHub")], repository: (42, "acme/web/shop")))
            #expect(r.status == 202, "\(r.text)")
            let github = try await h.settle(project: "github:42", expecting: 2)
            #expect(github.allSatisfy { $0["jira_site"]?.string?.contains("localhost") == true }, "\(github)")
            #expect(try await h.deliveries().isEmpty, "nothing reached the GitLab project")
            // The GitLab project's secret is not the repository's: a GitLab webhook with it is refused.
            #expect(try await h.webhook("Push Hook", Payloads.push(commits: [(Self.sha, "PROJ-1")]), secret: "gh-secret").status == 401)
            // GitLab's webhook (under the instance secret) reaches only the GitLab project and its Jira.
            #expect(
                try await h.webhook("Push Hook", Payloads.push(ref: "refs/heads/feature", commits: [(Self.sha, "PROJ-1 from GitLab")])).status == 202)
            let gitlab = try await h.settle(expecting: 2)
            #expect(gitlab.allSatisfy { $0["jira_site"]?.string?.contains("127.0.0.1") == true }, "\(gitlab)")
            #expect(try await h.settle(project: "github:42").count == 2, "nothing new reached the GitHub repository")
            #expect(await h.issue("PROJ-1").comments.count == 2)
        }
    }

    @Test("Gitea: a push signed over its JSON mentions a key with Gitea's URLs; a wrong signature is refused")
    func giteaPush() async throws {
        try await Harness.run { h in
            try await h.configureRepository(
                forge: "gitea", id: 61, path: "gogits/hello-world", webURL: "http://try.gitea.io/gogits/hello-world",
                secret: "gitea-secret")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "Login")
            let body = ForgePayloads.giteaPush(ref: "refs/heads/dev", commits: [(Self.sha, "PROJ-1 readme")])
            #expect(try await h.gitea("push", body, secret: "wrong").status == 401)
            #expect(try await h.gitea("push", body, secret: nil).status == 401)
            let r = try await h.gitea("push", body)
            #expect(r.status == 202, "\(r.text)")
            try await h.settle(project: "gitea:61", expecting: 2)
            let issue = await h.issue("PROJ-1")
            #expect(issue.comments.first?.body.contains("[a commit|http://try.gitea.io/gogits/hello-world/commit/\(Self.sha)]") == true)
            #expect(issue.comments.first?.body.contains("on branch [dev|http://try.gitea.io/gogits/hello-world/src/branch/dev]") == true)
            let object = try JSONValue.parse(try #require(issue.remoteLinks.first).objectJSON)
            #expect(object["icon"]?["title"] == "Gitea")
        }
    }

    @Test("Forgejo's headers and a form body signed over the JSON payload are accepted")
    func forgejoForm() async throws {
        try await Harness.run { h in
            try await h.configureRepository(
                forge: "gitea", id: 61, path: "gogits/hello-world", webURL: "http://try.gitea.io/gogits/hello-world",
                secret: "gitea-secret")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "Login")
            let r = try await h.gitea(
                "push", ForgePayloads.giteaPush(ref: "refs/heads/dev", commits: [(Self.sha, "PROJ-1 via Forgejo")]), form: true, forgejo: true)
            #expect(r.status == 202, "\(r.text)")
            try await h.settle(project: "gitea:61", expecting: 2)
        }
    }

    @Test("a merged Gitea pull request closes with its merge commit; opening one mentions, linked to /pulls/<n>")
    func giteaPullRequests() async throws {
        try await Harness.run { h in
            try await h.configureRepository(
                forge: "gitea", id: 6589, path: "jcitizen/my-repo", webURL: "https://try.gitea.io/jcitizen/my-repo",
                secret: "gitea-secret", extra: ["jira_issue_transition_automatic": true])
            await h.emulator.addIssue(projectKey: "PROJ", summary: "Login")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "Other")
            #expect(try await h.gitea("pull_request", ForgePayloads.giteaPullRequest(action: "opened", title: "PROJ-2 License")).status == 202)
            try await h.settle(project: "gitea:6589", expecting: 2)
            #expect(await h.issue("PROJ-2").comments.first?.body.contains("[a pull request|https://try.gitea.io/jcitizen/my-repo/pulls/1]") == true)
            let merge = "2eba238e33607c1fa49253182e9fff42baafa1eb"
            #expect(
                try await h.gitea(
                    "pull_request", ForgePayloads.giteaPullRequest(action: "closed", title: "Fixes PROJ-1", merged: true, mergeCommit: merge)
                ).status == 202)
            try await h.settle(project: "gitea:6589")
            let issue = await h.issue("PROJ-1")
            #expect(issue.resolution != nil)
            #expect(issue.comments.map(\.body).contains("Issue solved with [\(merge)|https://try.gitea.io/jcitizen/my-repo/commit/\(merge)]."))
        }
    }

    @Test("an unknown GitHub repository is registered from its first webhook, under the instance secret")
    func unknownRepositoryRegistered() async throws {
        try await Harness.run { h in
            let r = try await h.github("push", ForgePayloads.githubPush(commits: [(Self.sha, "no key")]), secret: "instance-hook-secret")
            #expect(r.status == 202, "\(r.text)")
            let project = try await h.admin(.GET, "/api/v4/projects/\(Self.repo)")
            #expect(project.status == 200)
            #expect(project.json["path_with_namespace"] == "Codertocat/Hello-World" && project.json["forge"] == "github")
            #expect(project.json["id"] == .number(186853002))
            #expect(try await h.admin(.GET, "/api/v4/groups/github%3ACodertocat").json["full_path"] == "Codertocat")
            #expect(try await h.admin(.GET, "/api/v4/projects/186853002").status == 404, "a plain id is only ever a GitLab project")
        }
    }

    @Test("GitLab's secret rotates too: the previous token is accepted for 24 hours, until previous_webhook_secret null")
    func gitlabRotation() async throws {
        try await Harness.run { h in
            try await h.configure()
            #expect(try await h.admin(.PUT, "/api/v4/projects/42", json: ["webhook_secret": "first"]).status == 200)
            #expect(try await h.admin(.PUT, "/api/v4/projects/42", json: ["webhook_secret": "second"]).status == 200)
            let push = Payloads.push(commits: [(Self.sha, "no key")])
            #expect(try await h.webhook("Push Hook", push, secret: "second").status == 202)
            #expect(try await h.webhook("Push Hook", push, secret: "first").status == 202)
            #expect(try await h.admin(.PUT, "/api/v4/projects/42", json: ["previous_webhook_secret": .null]).status == 200)
            #expect(try await h.webhook("Push Hook", push, secret: "first").status == 401)
            #expect(try await h.admin(.PUT, "/api/v4/projects/42", json: ["previous_webhook_secret": "x"]).status == 400)
        }
    }

    @Test("a Gitea redelivery (same X-Gitea-Delivery) gets the first event id and posts once")
    func giteaRedelivery() async throws {
        try await Harness.run { h in
            try await h.configureRepository(
                forge: "gitea", id: 61, path: "gogits/hello-world", webURL: "http://try.gitea.io/gogits/hello-world",
                secret: "gitea-secret")
            await h.emulator.addIssue(projectKey: "PROJ", summary: "Login")
            let body = ForgePayloads.giteaPush(ref: "refs/heads/dev", commits: [(Self.sha, "PROJ-1 once")])
            let first = try await h.gitea("push", body, delivery: "5c6a1a0e-0000-4000-8000-000000000001")
            let again = try await h.gitea("push", body, delivery: "5c6a1a0e-0000-4000-8000-000000000001")
            #expect(first.status == 202 && first.json["event_id"] == again.json["event_id"])
            try await h.settle(project: "gitea:61", expecting: 2)
            #expect(await h.issue("PROJ-1").comments.count == 1)
        }
    }

    @Test("the project list and the project page show the forge, and link other forges' projects by <forge>:<id>")
    func pagesShowTheForge() async throws {
        try await Harness.run { h in
            try await githubRepository(h)
            try await h.registerProject()
            let login = WebSignInTests()
            let form = try await login.signInForm(h)
            let signedIn = try await login.signIn(h, token: h.adminToken, form: form)
            let cookie = try #require(
                signedIn.headers.first { $0.0.lowercased() == "set-cookie" && $0.1.hasPrefix("jira_bridge_session=") }?.1
                    .split(separator: ";").first.map(String.init))
            let home = try await h.request(.GET, "/", headers: [("Cookie", cookie)])
            #expect(home.text.contains(#"<a href="/projects/github:186853002">Codertocat/Hello-World</a>"#))
            #expect(home.text.contains(#"<td class="forge">GitHub</td>"#) && home.text.contains(#"<td class="forge">GitLab</td>"#))
            let page = try await h.request(.GET, "/projects/github%3A186853002", headers: [("Cookie", cookie)])
            #expect(page.status == 200)
            #expect(page.text.contains(#"<span class="badge forge" id="project-forge">GitHub</span>"#))
            #expect(page.text.contains(#"href="/projects/github:186853002/integrations/jira/deliveries""#))
        }
    }

    @Test("reopened and synchronize re-read the pull request; labels, reviews and Gitea's comment events change nothing")
    func otherActions() async throws {
        try await Harness.run { h in
            try await githubRepository(h)
            #expect(try await h.github("pull_request", ForgePayloads.githubPullRequest(action: "reopened", title: "PROJ-1 again")).status == 202)
            #expect(try await h.github("pull_request", ForgePayloads.githubPullRequest(action: "synchronize", title: "PROJ-1 again")).status == 202)
            let labeled = try await h.github("pull_request", ForgePayloads.githubPullRequest(action: "labeled", title: "PROJ-1 again"))
            #expect(labeled.status == 202 && labeled.json["event_id"] == .null)
            try await h.settle(project: Self.repo, expecting: 2)
            #expect(await h.issue("PROJ-1").comments.count == 1)

            try await h.configureRepository(
                forge: "gitea", id: 6589, path: "jcitizen/my-repo", webURL: "https://try.gitea.io/jcitizen/my-repo",
                secret: "gitea-secret")
            let body = ForgePayloads.giteaPullRequest(action: "opened", title: "PROJ-1 comment")
            let comment = try await h.request(
                .POST, "/webhooks/gitea", raw: body,
                headers: [
                    ("X-Gitea-Event", "pull_request"), ("X-Gitea-Event-Type", "pull_request_comment"), ("Content-Type", "application/json"),
                    ("X-Gitea-Signature", TokenSecret.signature(of: Data(body.utf8), secret: "gitea-secret")),
                ])
            #expect(comment.status == 202 && comment.json["event_id"] == .null, "\(comment.text)")
            #expect(try await h.settle(project: "gitea:6589").isEmpty)
        }
    }

    @Test("a token scoped to a GitHub repository reaches it and not the GitLab project with the same id; its answers name the forge")
    func tokensAndReports() async throws {
        try await Harness.run { h in
            try await h.configure()
            try await h.configureRepository(
                forge: "github", id: 42, path: "acme/web/shop", webURL: "https://github.com/acme/web/shop", secret: "gh-secret")
            let created = try await h.admin(
                .POST, "/api/v4/tokens", json: ["name": "gh", "role": "maintainer", "scope": "project", "project_id": "github:42"])
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["project_id"] == .number(42) && created.json["project_forge"] == "github")
            let token = try #require(created.json["token"]?.string)
            #expect(try await h.request(.GET, "/api/v4/projects/github:42/integrations/jira", token: token).status == 200)
            #expect(try await h.request(.GET, "/api/v4/projects/42/integrations/jira", token: token).status == 404)
            // A security report on the repository: its vulnerability names the repository's own id and links back by github:42.
            let report = try Data(
                contentsOf: try #require(Bundle.module.url(forResource: "Fixtures/security/sast-two-findings", withExtension: "json")))
            let uploaded = try await h.request(
                .POST, "/api/v4/projects/github%3A42/security/reports", token: h.adminToken,
                raw: String(decoding: report, as: UTF8.self), headers: [("Content-Type", "application/json")])
            #expect(uploaded.status == 201 || uploaded.status == 200, "\(uploaded.text)")
            let list = try await h.admin(.GET, "/api/v4/projects/github:42/vulnerabilities")
            let first = try #require(list.json.array?.first)
            #expect(first["project_id"] == .number(42))
        }
    }
}
