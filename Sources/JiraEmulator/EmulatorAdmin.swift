import Foundation
import Hummingbird

/// The emulator's own control API under `/_emulator`: seed data, inject faults, read the request record.
struct EmulatorAdmin {
    let state: EmulatorState

    func handle(method: String, path: String, body: Data) async throws -> Response {
        let doc = object(body) ?? [:]
        switch (method, path) {
        case ("POST", "/_emulator/reset"):
            await state.reset()
            await state.development.reset()
            await state.forges.reset()
            return json(200, ["ok": true])
        case ("POST", "/_emulator/projects"):
            guard let key = doc["key"] as? String, !key.isEmpty else { return error(400, "key is required") }
            let p = await state.addProject(
                key: key, name: doc["name"] as? String, requiredFields: doc["required_fields"] as? [String] ?? [],
                workflow: doc["workflow"] as? String ?? "default")
            return json(201, ["id": p.id, "key": p.key, "name": p.name])
        case ("POST", "/_emulator/issues"):
            guard let project = doc["project"] as? String, let summary = doc["summary"] as? String else {
                return error(400, "project and summary are required")
            }
            let issue = await state.addIssue(
                projectKey: project, summary: summary, description: doc["description"] as? String,
                labels: doc["labels"] as? [String] ?? [], statusName: doc["status"] as? String ?? "To Do",
                reporter: doc["reporter"] as? String ?? "alice", assignee: doc["assignee"] as? String,
                renderedDescription: doc["rendered_description"] as? String)
            return json(201, ["id": issue.id, "key": issue.key])
        case ("POST", "/_emulator/faults"):
            var fault = EmulatedFault(
                method: doc["method"] as? String, pathContains: doc["path"] as? String, status: doc["status"] as? Int,
                retryAfter: doc["retry_after"] as? Int, delayMilliseconds: doc["delay_ms"] as? Int ?? 0,
                dropConnection: doc["drop"] as? Bool ?? false, times: doc["times"] as? Int ?? 1)
            fault.delayAfterMilliseconds = doc["delay_after_ms"] as? Int ?? 0
            fault.trickleMilliseconds = doc["trickle_ms"] as? Int ?? 0
            fault.after = max(0, doc["after"] as? Int ?? 0)
            fault.oversizeBytes = min(doc["oversize_bytes"] as? Int ?? 0, 256 << 20)
            for (name, value) in (doc["headers"] as? [String: Any] ?? [:]).prefix(20) {
                if let value = value as? String { fault.headers[String(name.prefix(100))] = String(value.prefix(1000)) }
            }
            await state.addFault(fault)
            return json(201, ["ok": true])
        case ("POST", "/_emulator/rate_limits"):
            guard let name = doc["reason"] as? String, let reason = EmulatedRateLimit.Reason(rawValue: name),
                let limit = doc["limit"] as? Int, let window = doc["window_ms"] as? Int
            else {
                return error(
                    400, "reason (\(EmulatedRateLimit.Reason.allCases.map(\.rawValue).joined(separator: ", "))), limit and window_ms are required")
            }
            await state.addRateLimit(EmulatedRateLimit(reason: reason, limit: limit, windowMilliseconds: window))
            return json(201, ["ok": true])
        case ("DELETE", "/_emulator/rate_limits"):
            await state.clearRateLimits()
            return json(200, ["ok": true])
        case ("DELETE", "/_emulator/faults"):
            await state.clearFaults()
            return json(200, ["ok": true])
        case ("POST", "/_emulator/config"):
            if let v = doc["resolution_on_done"] as? Bool { await state.setResolutionOnDone(v) }
            return json(200, ["ok": true])
        case ("GET", "/_emulator/concurrency"):
            return json(200, ["in_flight": await state.inFlight, "max_in_flight": await state.maxInFlight])
        case ("DELETE", "/_emulator/concurrency"):
            await state.resetConcurrency()
            return json(200, ["ok": true])
        case ("POST", "/_emulator/oauth_clients"):
            guard let id = doc["client_id"] as? String, let secret = doc["client_secret"] as? String else {
                return error(400, "client_id and client_secret are required")
            }
            let permissions = doc["permissions"] as? [String] ?? Array(EmulatedDevelopment.allPermissions)
            await state.development.setClient(.init(id: id, secret: secret, permissions: Set(permissions)))
            return json(201, ["ok": true])
        case ("POST", "/_emulator/oauth"):
            if let seconds = doc["token_lifetime"] as? Int { await state.development.setTokenLifetime(seconds) }
            if doc["expire_tokens"] as? Bool == true { await state.development.expireTokens() }
            return json(200, ["ok": true])
        case ("GET", "/_emulator/oauth"):
            return json(200, ["tokens_issued": await state.development.tokensIssued])
        case ("GET", "/_emulator/requests"):
            let data = try JSONEncoder().encode(await state.requests)
            return raw(200, data)
        default:
            if method == "POST", path.hasPrefix("/_emulator/users/"), path.hasSuffix("/credentials") {
                // {"password": "new"} sets a new password or API token (the old one stops working);
                // {"expire_after_requests": n} makes the user's credentials expire after n more requests.
                let name = String(path.dropFirst("/_emulator/users/".count).dropLast("/credentials".count))
                guard await state.users.contains(where: { $0.name == name }) else { return error(404, "no user \(name)") }
                if let password = doc["password"] as? String { await state.setPassword(user: name, to: password) }
                if let after = doc["expire_after_requests"] as? Int { await state.expireCredentials(user: name, afterRequests: after) }
                return json(200, ["ok": true])
            }
            if method == "GET", path.hasPrefix("/_emulator/forge/statuses/") {
                // The latest status of each context on a commit, as the forge shows it; `all` lists every one set.
                let sha = String(path.dropFirst("/_emulator/forge/statuses/".count))
                let forges = state.forges
                let latest = await forges.latest(sha: sha)
                let all = await forges.statuses.filter { $0.sha == sha }
                func render(_ s: EmulatedForges.Status) -> [String: Any] {
                    [
                        "forge": s.forge, "project": s.project, "sha": s.sha, "context": s.context, "state": s.state,
                        "description": s.description, "target_url": s.targetURL ?? NSNull(),
                    ]
                }
                return json(200, ["latest": latest.map(render), "all": all.map(render)])
            }
            if method == "POST", path == "/_emulator/forge/repositories" {
                guard await state.forges.addRepository(doc) else { return error(400, "forge (gitlab, github, gitea) and project are required") }
                return json(201, ["ok": true])
            }
            if method == "POST", path == "/_emulator/forge/hook_deliveries" {
                guard await state.forges.addHookDeliveries(doc) else {
                    return error(400, "forge (github, gitlab), project, hook_id and deliveries [{event, payload}] are required")
                }
                return json(201, ["ok": true])
            }
            if method == "POST", path == "/_emulator/forge/tokens" {
                guard let doc = object(body), let token = doc["token"] as? String else { return error(400, "token is required") }
                await state.forges.addToken(token)
                return json(201, ["ok": true])
            }
            for api in ["builds", "deployments"] where method == "GET" && path.hasPrefix("/_emulator/\(api)/") {
                // The builds or deployments that name an issue, as Jira keeps them.
                let key = String(path.dropFirst("/_emulator/\(api)/".count))
                return json(200, [api: await state.development.stored(api, issue: key).map(\.value)])
            }
            if method == "GET", path.hasPrefix("/_emulator/development/") {
                // The Development panel of an issue: the commits, branches and pull requests that name it.
                let key = String(path.dropFirst("/_emulator/development/".count))
                let panel = await state.development.panel(issue: key)
                return json(200, panel.mapValues { $0.map(\.value) })
            }
            if method == "GET", path.hasPrefix("/_emulator/issues/") {
                let key = String(path.dropFirst("/_emulator/issues/".count))
                guard let issue = await state.issue(key) else { return error(404, "no issue \(key)") }
                return json(
                    200,
                    [
                        "key": issue.key, "status_id": issue.statusID, "resolution": issue.resolution ?? NSNull(),
                        "summary": issue.summary, "description": issue.description ?? NSNull(), "issue_type_id": issue.issueTypeID,
                        "comments": issue.comments.map { ["id": $0.id, "body": $0.body] },
                        "worklogs": issue.worklogs.map { ["time_spent": $0.timeSpent, "seconds": $0.timeSpentSeconds, "comment": $0.comment] },
                        "remote_links": issue.remoteLinks.map {
                            ["id": $0.id, "globalId": $0.globalId ?? NSNull(), "object": object($0.objectJSON) ?? [:]] as [String: Any]
                        },
                    ] as [String: Any])
            }
            return error(404, "unknown emulator endpoint \(method) \(path)")
        }
    }
}
