import Foundation
import Hummingbird

/// Repositories on the emulated forges, for what a backfill reads: merge or pull requests and branches, listed
/// newest first in pages as each forge lists them (GitLab `GET /projects/:id/merge_requests` and
/// `/repository/branches`; GitHub and Gitea `GET /repos/{owner}/{repo}/pulls`, `/branches`, and GitHub's
/// `/commits?sha=`). A test seeds one with `POST /_emulator/forge/repositories`:
///
///     {"forge": "github", "project": "o/r", "merge_requests": 1000, "branches": 30, "keys": ["PROJ-1"],
///      "pull_request_template": {...}}
///
/// Merge request `i` (1 is the oldest) names `keys[i % keys.count]` in its title, except every fourth; every
/// third is merged and one in ten closed. Branch `j` is `feature/<key>-work-<j>` (every fourth `topic-<j>`),
/// with head commit `%040x` of `0xb000 + j`. GitHub and Gitea items are the test's template (a pull request of a
/// real webhook payload) with these values in place, so their shape is the forge's own.
struct EmulatedRepository: Sendable {
    var forge: String
    var project: String
    var mergeRequests: Int
    var branches: Int
    var keys: [String]
    /// A pull request object of the forge's own (GitHub, Gitea), as JSON text.
    var template: String?
    /// Branches created through the API, with their heads.
    var created: [(name: String, sha: String)] = []
    /// Commits of the default branch given by the test (`sha`, `message`, `timestamp`), oldest first.
    var commits: [[String: String]] = []
    /// Pull requests given by the test (fields put over the template), instead of the generated ones.
    var pulls: [String] = []

    static let base = Date(timeIntervalSince1970: 1_780_000_000)

    func key(_ i: Int) -> String? { keys.isEmpty || i % 4 == 0 ? nil : keys[i % keys.count] }

    func updatedAt(_ i: Int) -> String { ISO8601DateFormatter().string(from: Self.base.addingTimeInterval(Double(i) * 60)) }

    static func headSHA(_ j: Int) -> String { String(format: "%040x", 0xb000 + j) }

    func branchName(_ j: Int) -> String { key(j).map { "feature/\($0)-work-\(j)" } ?? "topic-\(j)" }

    /// One page of the merge requests, newest first.
    func mergeRequestPage(page: Int, perPage: Int) -> [Any] {
        if !pulls.isEmpty {
            let given = pulls.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            let sorted = given.sorted { ($0["updated_at"] as? String ?? "") > ($1["updated_at"] as? String ?? "") }
            return Self.slice(sorted, page: page, perPage: perPage).map { given in
                var pr = mergeRequest(given["number"] as? Int ?? 1) as? [String: Any] ?? [:]
                for (k, v) in given { pr[k] = v }
                return pr
            }
        }
        let numbers = Array((1...max(1, mergeRequests)).reversed()).filter { _ in mergeRequests > 0 }
        return Self.slice(numbers, page: page, perPage: perPage).map(mergeRequest)
    }

    func branchPage(page: Int, perPage: Int) -> [Any] {
        // Listed by name, as the forges list them.
        let names = ((1...max(1, branches)).filter { _ in branches > 0 }.map { ($0, branchName($0)) } + [(0, "main")]).sorted { $0.1 < $1.1 }
        let all = (names.map { (j: $0.0, name: $0.1, sha: nil as String?) } + created.map { (j: 0, name: $0.name, sha: $0.sha as String?) })
            .sorted { $0.name < $1.name }
        return Self.slice(all, page: page, perPage: perPage).map { b in
            guard let sha = b.sha else { return branch(b.j, name: b.name) }
            return branch(0, name: b.name, sha: sha)
        }
    }

    /// The head of branch `name`, if it exists.
    func head(of name: String) -> String? {
        if name == "main" || name == "master" { return String(repeating: "b", count: 40) }
        if let c = created.first(where: { $0.name == name }) { return c.sha }
        guard branches > 0, let j = (1...branches).first(where: { branchName($0) == name }) else { return nil }
        return Self.headSHA(j)
    }

    static func slice<T>(_ items: [T], page: Int, perPage: Int) -> ArraySlice<T> {
        let start = min(items.count, max(0, page - 1) * perPage)
        return items[start..<min(items.count, start + perPage)]
    }

    func mergeRequest(_ i: Int) -> Any {
        let key = key(i)
        let title = key.map { "\($0) change \(i)" } ?? "change \(i)"
        let merged = i % 3 == 0
        let closed = !merged && i % 10 == 1
        let updated = updatedAt(i)
        let source = "change-\(i)"
        let sha = String(format: "%040x", 0xa000 + i)
        switch forge {
        case "gitlab":
            let web = "https://gitlab.example.com/acme/shop"
            let author: [String: Any] = [
                "id": 1, "username": "alice", "name": "Alice", "state": "active", "avatar_url": NSNull(),
                "web_url": "https://gitlab.example.com/alice",
            ]
            return [
                "id": 10_000 + i, "iid": i, "project_id": Int(project) ?? 0, "title": title, "description": "Change \(i).",
                "state": merged ? "merged" : closed ? "closed" : "opened", "created_at": updated, "updated_at": updated,
                "merged_at": merged ? updated : NSNull(), "closed_at": closed ? updated : NSNull(), "merge_user": merged ? author : NSNull(),
                "target_branch": "main", "source_branch": source, "source_project_id": Int(project) ?? 0,
                "target_project_id": Int(project) ?? 0, "author": author, "assignees": [], "reviewers": [], "labels": [], "draft": false,
                "work_in_progress": false, "sha": sha, "merge_commit_sha": merged ? sha : NSNull(), "squash_commit_sha": NSNull(),
                "user_notes_count": i % 5, "detailed_merge_status": merged ? "not_open" : "mergeable", "merge_status": "can_be_merged",
                "references": ["short": "!\(i)", "relative": "!\(i)", "full": "acme/shop!\(i)"], "web_url": "\(web)/-/merge_requests/\(i)",
                "prepared_at": updated,
            ] as [String: Any]
        default:
            var pr = (template.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any]) ?? [:]
            let web = "https://\(forge).example/\(project)"
            pr["id"] = 20_000 + i
            pr["number"] = i
            pr["title"] = title
            pr["body"] = "Change \(i)."
            pr["state"] = merged || closed ? "closed" : "open"
            pr["updated_at"] = updated
            pr["created_at"] = updated
            pr["closed_at"] = merged || closed ? updated : NSNull()
            pr["merged_at"] = merged ? updated : NSNull()
            pr["html_url"] = "\(web)/pull/\(i)"
            if forge == "gitea" { pr["merged"] = merged } else { pr.removeValue(forKey: "merged") }
            // A list item of GitHub (`pull-request-simple`) has no counts of comments, commits or changes.
            if forge == "github" {
                for field in [
                    "comments", "review_comments", "commits", "additions", "deletions", "changed_files", "mergeable", "rebaseable",
                    "mergeable_state", "merged_by", "maintainer_can_modify",
                ] { pr.removeValue(forKey: field) }
            }
            if var head = pr["head"] as? [String: Any] {
                head["ref"] = source
                head["sha"] = sha
                head["label"] = "acme:\(source)"
                pr["head"] = head
            }
            return pr
        }
    }

    func branch(_ j: Int, name: String, sha given: String? = nil) -> Any {
        let sha = given ?? (j == 0 ? String(repeating: "b", count: 40) : Self.headSHA(j))
        let message = j == 0 ? "Initial commit" : j % 2 == 0 ? "work \(j) for \(key(j) ?? "nothing")" : "work \(j)"
        let time = updatedAt(j)
        switch forge {
        case "gitlab":
            return [
                "name": name, "merged": false, "protected": j == 0, "default": j == 0, "developers_can_push": false, "developers_can_merge": false,
                "can_push": true, "web_url": "https://gitlab.example.com/acme/shop/-/tree/\(name)",
                "commit": [
                    "id": sha, "short_id": String(sha.prefix(8)), "title": message, "message": message, "author_name": "Alice",
                    "author_email": "alice@example.com", "authored_date": time, "committer_name": "Alice", "committer_email": "alice@example.com",
                    "committed_date": time, "created_at": time, "parent_ids": [], "web_url": "https://gitlab.example.com/acme/shop/-/commit/\(sha)",
                ] as [String: Any],
            ] as [String: Any]
        case "gitea":
            let user: [String: Any] = ["name": "Alice", "email": "alice@example.com", "username": "alice"]
            return [
                "name": name, "protected": j == 0, "required_approvals": 0, "enable_status_check": false, "status_check_contexts": [],
                "user_can_push": true, "user_can_merge": true, "effective_branch_protection_name": "",
                "commit": [
                    "id": sha, "message": message, "url": "https://gitea.example/\(project)/commit/\(sha)", "author": user, "committer": user,
                    "verification": NSNull(), "timestamp": time, "added": NSNull(), "removed": NSNull(), "modified": NSNull(),
                ] as [String: Any],
            ] as [String: Any]
        default:
            return [
                "name": name, "protected": j == 0,
                "commit": ["sha": sha, "url": "https://api.github.com/repos/\(project)/commits/\(sha)"],
            ] as [String: Any]
        }
    }

    /// Gitea's `GET /repos/{owner}/{repo}/commits?since=`: the given commits at or after `since`, newest first, in
    /// Gitea's `Commit` shape.
    func giteaCommits(since: String?, page: Int, perPage: Int) -> [Any] {
        let formatter = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        // Gitea reads `since` as RFC 3339, with or without fractions of a second.
        let from = since.flatMap { formatter.date(from: $0) ?? fractional.date(from: $0) }
        let listed = commits.reversed().filter { c in
            guard let from, let at = c["timestamp"].flatMap({ formatter.date(from: $0) }) else { return true }
            return at >= from
        }
        return Self.slice(Array(listed), page: page, perPage: perPage).map { c -> [String: Any] in
            let sha = c["sha"] ?? ""
            let person: [String: Any] = ["name": "Alice", "email": "alice@example.com", "date": c["timestamp"] ?? ""]
            let api = "https://gitea.example/api/v1/repos/\(project)"
            return [
                "url": "\(api)/git/commits/\(sha)", "sha": sha, "created": c["timestamp"] ?? "",
                "html_url": "https://gitea.example/\(project)/commit/\(sha)",
                "commit": [
                    "url": "\(api)/git/commits/\(sha)", "author": person, "committer": person, "message": c["message"] ?? "",
                    "tree": ["url": "\(api)/git/trees/\(sha)", "sha": sha, "created": c["timestamp"] ?? ""],
                ] as [String: Any],
                "author": ["id": 1, "login": "alice", "full_name": "Alice", "email": "alice@example.com"], "committer": NSNull(),
                "parents": [], "files": NSNull(), "stats": NSNull(),
            ]
        }
    }

    /// GitHub's `GET /repos/{owner}/{repo}/commits?sha=<branch>&per_page=1`: the branch's head (`commit` schema).
    func githubHead(branch name: String) -> [Any] {
        guard let sha = head(of: name) else { return [] }
        let j = branches > 0 ? (1...branches).first { branchName($0) == name } ?? 0 : 0
        let message = j == 0 ? "Initial commit" : j % 2 == 0 ? "work \(j) for \(key(j) ?? "nothing")" : "work \(j)"
        let person: [String: Any] = ["name": "Alice", "email": "alice@example.com", "date": updatedAt(j)]
        let api = "https://api.github.com/repos/\(project)"
        return [
            [
                "url": "\(api)/commits/\(sha)", "sha": sha, "node_id": "C_\(sha.prefix(8))",
                "html_url": "https://github.com/\(project)/commit/\(sha)",
                "comments_url": "\(api)/commits/\(sha)/comments",
                "commit": [
                    "url": "\(api)/git/commits/\(sha)", "author": person, "committer": person, "message": message, "comment_count": 0,
                    "tree": ["sha": String(repeating: "e", count: 40), "url": "\(api)/git/trees/eee"],
                ] as [String: Any],
                "author": NSNull(), "committer": NSNull(), "parents": [],
            ] as [String: Any]
        ]
    }
}

extension EmulatedForges {
    /// Creates a branch: GitLab `POST .../repository/branches`, GitHub `POST .../git/refs`, Gitea `POST .../branches`,
    /// with each forge's answer for a branch that exists or a start that does not.
    func createBranch(forge: String, rest: [String], body: Data) -> Response? {
        let doc = object(body) ?? [:]
        let key: String
        let name: String
        let sha: String?
        switch forge {
        case "gitlab":
            guard rest.count == 6, rest[0] == "api", rest[1] == "v4", rest[2] == "projects", rest[4] == "repository", rest[5] == "branches" else {
                return nil
            }
            key = "gitlab/\(rest[3])"
            guard let branch = doc["branch"] as? String, let ref = doc["ref"] as? String else {
                return json(400, ["error": "branch is missing, ref is missing"])
            }
            let repo = repository(key, forge: forge, project: rest[3])
            if repo.head(of: branch) != nil { return json(400, ["message": "Branch already exists"]) }
            guard let head = repo.head(of: ref) else { return json(400, ["message": "Invalid reference name: \(ref)"]) }
            (name, sha) = (branch, head)
        case "github":
            guard rest.count == 5, rest[0] == "repos", rest[3] == "git", rest[4] == "refs" else { return nil }
            key = "github/\(rest[1])/\(rest[2])"
            guard let ref = doc["ref"] as? String, ref.hasPrefix("refs/"), ref.split(separator: "/").count >= 3, let given = doc["sha"] as? String
            else {
                return json(422, ["message": "Reference name is invalid"])
            }
            let repo = repository(key, forge: forge, project: "\(rest[1])/\(rest[2])")
            let branch = String(ref.dropFirst("refs/heads/".count))
            if repo.head(of: branch) != nil { return json(422, ["message": "Reference already exists"]) }
            (name, sha) = (branch, given)
        default:
            let r = rest.count >= 2 && rest[0] == "api" && rest[1] == "v1" ? Array(rest.dropFirst(2)) : rest
            guard r.count == 4, r[0] == "repos", r[3] == "branches" else { return nil }
            key = "gitea/\(r[1])/\(r[2])"
            guard let branch = doc["new_branch_name"] as? String else { return json(422, ["message": "new_branch_name is required"]) }
            let repo = repository(key, forge: forge, project: "\(r[1])/\(r[2])")
            if repo.head(of: branch) != nil { return json(409, ["message": "The branch already exists."]) }
            let from = doc["old_ref_name"] as? String ?? doc["old_branch_name"] as? String ?? "main"
            guard let head = repo.head(of: from) else { return json(404, ["message": "The old branch does not exist"]) }
            (name, sha) = (branch, head)
        }
        var repo =
            repositories[key]
            ?? EmulatedRepository(forge: forge, project: String(key.drop { $0 != "/" }.dropFirst()), mergeRequests: 0, branches: 0, keys: [])
        repo.created.append((name, sha ?? ""))
        repositories[key] = repo
        if forge == "github" {
            let api = "https://api.github.com/repos/\(repo.project)"
            return json(
                201,
                [
                    "ref": "refs/heads/\(name)", "node_id": "REF_\(name.count)", "url": "\(api)/git/refs/heads/\(name)",
                    "object": ["type": "commit", "sha": sha ?? "", "url": "\(api)/git/commits/\(sha ?? "")"],
                ] as [String: Any])
        }
        return json(201, repo.branch(0, name: name, sha: sha))
    }

    private func repository(_ key: String, forge: String, project: String) -> EmulatedRepository {
        repositories[key] ?? EmulatedRepository(forge: forge, project: project, mergeRequests: 0, branches: 0, keys: [])
    }

    /// Answers `GET` of a repository's lists, or nil when `rest` names none.
    func list(forge: String, rest: [String], query: [String: String]) -> Response? {
        func number(_ name: String, _ fallback: Int, max: Int) -> Int { Swift.min(max, Swift.max(1, Int(query[name] ?? "") ?? fallback)) }
        let page = number("page", 1, max: 1_000_000)
        switch forge {
        case "gitlab":
            // api/v4/projects/:id/merge_requests, api/v4/projects/:id/repository/branches
            guard rest.count >= 5, rest[0] == "api", rest[1] == "v4", rest[2] == "projects" else { return nil }
            let repo =
                repositories["gitlab/\(rest[3])"] ?? EmulatedRepository(forge: "gitlab", project: rest[3], mergeRequests: 0, branches: 0, keys: [])
            let perPage = number("per_page", 20, max: 100)
            if rest.count == 5, rest[4] == "merge_requests" { return json(200, repo.mergeRequestPage(page: page, perPage: perPage)) }
            if rest.count == 6, rest[4] == "repository", rest[5] == "branches" { return json(200, repo.branchPage(page: page, perPage: perPage)) }
            return nil
        default:
            let r = forge == "gitea" && rest.count >= 2 && rest[0] == "api" && rest[1] == "v1" ? Array(rest.dropFirst(2)) : rest
            guard r.count == 4, r[0] == "repos" else { return nil }
            let name = r[1] + "/" + r[2]
            let repo = repositories["\(forge)/\(name)"] ?? EmulatedRepository(forge: forge, project: name, mergeRequests: 0, branches: 0, keys: [])
            // GitHub pages with `per_page` (30, at most 100), Gitea with `limit` (at most 50, its MAX_RESPONSE_ITEMS).
            let perPage = forge == "github" ? number("per_page", 30, max: 100) : number("limit", 30, max: 50)
            switch r[3] {
            case "pulls": return json(200, repo.mergeRequestPage(page: page, perPage: perPage))
            case "branches": return json(200, repo.branchPage(page: page, perPage: perPage))
            case "commits" where forge == "github": return json(200, repo.githubHead(branch: query["sha"] ?? "main"))
            case "commits": return json(200, repo.giteaCommits(since: query["since"], page: page, perPage: perPage))
            default: return nil
            }
        }
    }

    public func addRepository(_ doc: [String: Any]) -> Bool {
        guard let forge = doc["forge"] as? String, ["gitlab", "github", "gitea"].contains(forge), let project = doc["project"] as? String else {
            return false
        }
        let template = (doc["pull_request_template"] as? [String: Any]).flatMap { try? JSONSerialization.data(withJSONObject: $0) }
        var repo = EmulatedRepository(
            forge: forge, project: project, mergeRequests: min(100_000, doc["merge_requests"] as? Int ?? 0),
            branches: min(100_000, doc["branches"] as? Int ?? 0), keys: doc["keys"] as? [String] ?? [],
            template: template.map { String(decoding: $0, as: UTF8.self) })
        repo.commits = (doc["commits"] as? [[String: String]] ?? []).prefix(10_000).map { $0 }
        repo.pulls = (doc["pull_requests"] as? [[String: Any]] ?? []).prefix(10_000).compactMap {
            (try? JSONSerialization.data(withJSONObject: $0)).map { String(decoding: $0, as: UTF8.self) }
        }
        repositories["\(forge)/\(project)"] = repo
        return true
    }
}

/// A forge's record of one webhook's deliveries (GitHub's deliveries, GitLab's hook events), for catch-up. A
/// test seeds it with `POST /_emulator/forge/hook_deliveries`:
///
///     {"forge": "github", "project": "o/r", "hook_id": 7,
///      "deliveries": [{"event": "push", "status_code": 502, "payload": {...}, "guid": "...", "delivered_at": "..."}]}
///
/// `status_code` 0 is a delivery that could not connect (GitHub's `failed to connect`, GitLab's `internal error`).
struct EmulatedHookDelivery: Sendable {
    var id: Int
    var guid: String
    var event: String
    var statusCode: Int
    var deliveredAt: String
    /// The payload as JSON text.
    var payload: String
}

extension EmulatedForges {
    public func addHookDeliveries(_ doc: [String: Any]) -> Bool {
        guard let forge = doc["forge"] as? String, ["github", "gitlab"].contains(forge), let project = doc["project"] as? String,
            let hook = doc["hook_id"] as? Int, let list = doc["deliveries"] as? [[String: Any]]
        else { return false }
        let key = "\(forge)/\(project)/\(hook)"
        var deliveries = hookDeliveries[key] ?? []
        for item in list.prefix(10_000) {
            guard let event = item["event"] as? String, let payload = item["payload"],
                let data = try? JSONSerialization.data(withJSONObject: payload)
            else { return false }
            nextDeliveryID += 1
            deliveries.append(
                EmulatedHookDelivery(
                    id: nextDeliveryID, guid: item["guid"] as? String ?? UUID().uuidString.lowercased(), event: event,
                    statusCode: item["status_code"] as? Int ?? 200,
                    deliveredAt: item["delivered_at"] as? String ?? ISO8601DateFormatter().string(from: Date()),
                    payload: String(decoding: data, as: UTF8.self)))
        }
        hookDeliveries[key] = deliveries
        return true
    }

    /// GitHub's `GET .../hooks/{hook_id}/deliveries[/{delivery_id}]` and GitLab's `GET .../hooks/{hook_id}/events`, or
    /// nil when `rest` names neither.
    func hookRecord(forge: String, rest: [String], query: [String: String]) -> Response? {
        switch forge {
        case "github":
            // repos/:owner/:repo/hooks/:hook_id/deliveries[/:delivery_id]
            guard rest.count == 6 || rest.count == 7, rest[0] == "repos", rest[3] == "hooks", rest[5] == "deliveries" else { return nil }
            let all = (hookDeliveries["github/\(rest[1])/\(rest[2])/\(rest[4])"] ?? []).reversed()  // newest first
            if rest.count == 7 {
                guard let d = all.first(where: { String($0.id) == rest[6] }) else { return json(404, ["message": "Not Found"]) }
                var item = githubItem(d, repository: "\(rest[1])/\(rest[2])")
                let payload = (try? JSONSerialization.jsonObject(with: Data(d.payload.utf8))) ?? [:]
                item["url"] = "https://jira-bridge.example.com/webhooks/github"
                item["request"] =
                    [
                        "headers": ["X-GitHub-Event": d.event, "X-GitHub-Delivery": d.guid, "Content-Type": "application/json"], "payload": payload,
                    ] as [String: Any]
                item["response"] = ["headers": [:] as [String: Any], "payload": d.statusCode == 0 ? NSNull() : "{}" as Any] as [String: Any]
                return json(200, item)
            }
            let perPage = min(100, max(1, Int(query["per_page"] ?? "") ?? 30))
            let start = Int((query["cursor"] ?? "").dropFirst("v1_".count)) ?? 0
            let page = Array(all.dropFirst(start).prefix(perPage))
            var response = json(200, page.map { githubItem($0, repository: "\(rest[1])/\(rest[2])") })
            if start + perPage < all.count {
                let base = "https://api.github.com/repos/\(rest[1])/\(rest[2])/hooks/\(rest[4])/deliveries"
                response.headers[.init("Link")!] = "<\(base)?per_page=\(perPage)&cursor=v1_\(start + perPage)>; rel=\"next\""
            }
            return response
        case "gitlab":
            // api/v4/projects/:id/hooks/:hook_id/events
            guard rest.count == 7, rest[0] == "api", rest[1] == "v4", rest[2] == "projects", rest[4] == "hooks", rest[6] == "events" else {
                return nil
            }
            let all = Array((hookDeliveries["gitlab/\(rest[3])/\(rest[5])"] ?? []).reversed())
            let perPage = min(100, max(1, Int(query["per_page"] ?? "") ?? 20))
            let page = max(1, Int(query["page"] ?? "") ?? 1)
            return json(
                200,
                EmulatedRepository.slice(all, page: page, perPage: perPage).map { d -> [String: Any] in
                    [
                        "id": d.id, "url": "https://jira-bridge.example.com/webhooks/gitlab", "trigger": "push_hooks",
                        "request_headers": [
                            "Content-Type": "application/json", "User-Agent": "GitLab/17.1.0", "Idempotency-Key": d.guid, "X-Gitlab-Event": d.event,
                            "X-Gitlab-Webhook-UUID": "hook-\(rest[5])", "X-Gitlab-Instance": "https://gitlab.example.com",
                            "X-Gitlab-Event-UUID": d.guid, "X-Gitlab-Token": "[REDACTED]",
                        ],
                        "request_data": (try? JSONSerialization.jsonObject(with: Data(d.payload.utf8))) ?? [:],
                        "response_headers": [:] as [String: Any], "response_body": d.statusCode == 0 ? "" : "{}",
                        "execution_duration": 0.1, "response_status": d.statusCode == 0 ? "internal error" : String(d.statusCode),
                    ]
                })
        default:
            return nil
        }
    }

    private func githubItem(_ d: EmulatedHookDelivery, repository: String) -> [String: Any] {
        let payload = (try? JSONSerialization.jsonObject(with: Data(d.payload.utf8))) as? [String: Any]
        let repositoryID = (payload?["repository"] as? [String: Any])?["id"] as? Int
        return [
            "id": d.id, "guid": d.guid, "delivered_at": d.deliveredAt, "redelivery": false, "duration": 0.05,
            "status": d.statusCode == 0 ? "failed to connect" : d.statusCode < 300 ? "OK" : "Invalid HTTP Response: \(d.statusCode)",
            "status_code": d.statusCode, "event": d.event, "action": payload?["action"] as? String ?? NSNull(), "installation_id": NSNull(),
            "repository_id": repositoryID ?? NSNull(),
        ]
    }
}
