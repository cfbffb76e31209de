import Foundation
import Hummingbird

/// Jira's REST endpoints over the emulator state, shaped like Jira's documents.
struct RestAPI {
    let state: EmulatorState
    let deployment: EmulatedDeployment
    let baseURL: String

    static let dateFormat: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
        return f
    }()

    func respond(method: String, path: String, query: [String: String], body: Data, user: EmulatedUser?) async -> Response {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map { String($0).removingPercentEncoding ?? String($0) }
        guard parts.count >= 4, parts[0] == "rest", parts[1] == "api", parts[2] == "2" || parts[2] == "3" else {
            return error(404, "Not Found")
        }
        let version = parts[2]
        let r = Array(parts.dropFirst(3))
        // serverInfo is readable anonymously, as in Jira; everything else needs a user.
        if r == ["serverInfo"], method == "GET" { return json(200, serverInfo()) }
        guard let user else {
            return error(401, "You are not authenticated. Authentication required to perform this operation.")
        }
        switch (method, r.count, r.first) {
        case ("GET", 1, "myself"): return json(200, userJSON(user))
        case ("GET", 1, "issuetype"): return json(200, state.issueTypes.map(issueTypeJSON))
        case ("GET", 2, "project"): return await project(r[1])
        case ("POST", 1, "issue"): return await createIssue(body, user: user)
        case ("GET", 1, "search"):
            if deployment == .cloud {
                return error(
                    410,
                    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
                )
            }
            return await searchServer(query)
        case ("GET", 2, "search") where r[1] == "jql":
            guard version == "3" || deployment == .cloud else { return error(404, "Not Found") }
            if deployment == .server { return error(404, "null for uri: \(baseURL)/rest/api/\(version)/search/jql") }
            return await searchCloud(query)
        case ("GET", 5, "issue") where r[1] == "createmeta" && r[3] == "issuetypes":
            return await createMeta(projectKey: r[2], issueTypeID: r[4], query: query)
        case (_, _, "issue") where r.count >= 2:
            return await issueRoutes(method: method, r: r, query: query, body: body, user: user)
        default:
            return error(404, "null for uri: \(baseURL)/rest/api/\(version)/\(r.joined(separator: "/"))")
        }
    }

    private func issueRoutes(method: String, r: [String], query: [String: String], body: Data, user: EmulatedUser) async -> Response {
        guard let issue = await state.issue(r[1]) else {
            return error(404, "Issue does not exist or you do not have permission to see it.")
        }
        switch (method, r.count, r.count > 2 ? r[2] : nil) {
        case ("GET", 2, nil):
            let expand = (query["expand"] ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            return json(200, await issueJSON(issue, expand: Set(expand)))
        case ("GET", 3, "comment"):
            let startAt = Int(query["startAt"] ?? "0") ?? 0
            let maxResults = min(Int(query["maxResults"] ?? "50") ?? 50, 5000)
            let page = issue.comments.dropFirst(startAt).prefix(maxResults)
            return json(
                200,
                [
                    "startAt": startAt, "maxResults": maxResults, "total": issue.comments.count,
                    "comments": await page.asyncMap { await commentJSON($0, issue: issue) },
                ] as [String: Any])
        case ("GET", 3, "worklog"):
            return json(
                200,
                [
                    "startAt": 0, "maxResults": issue.worklogs.count, "total": issue.worklogs.count,
                    "worklogs": issue.worklogs.map(worklogJSON),
                ] as [String: Any])
        case ("POST", 3, "worklog"):
            guard let doc = object(body), let spent = doc["timeSpent"] as? String else {
                return error(400, nil, errors: ["timeLogged": "You must indicate the time spent working."])
            }
            guard let w = await state.addWorklog(issueKey: issue.key, timeSpent: spent, comment: doc["comment"] as? String ?? "", author: user.name)
            else { return error(404, "Issue does not exist or you do not have permission to see it.") }
            guard !w.id.isEmpty else { return error(400, nil, errors: ["timeLogged": "Invalid time duration entered."]) }
            return json(201, worklogJSON(w))
        case ("POST", 3, "comment"):
            guard let doc = object(body), let text = doc["body"] as? String, !text.isEmpty else {
                return error(400, nil, errors: ["comment": "Comment body can not be empty!"])
            }
            guard let c = await state.addComment(issueKey: issue.key, body: text, author: user.name) else {
                return error(404, "Issue does not exist or you do not have permission to see it.")
            }
            return json(201, await commentJSON(c, issue: issue))
        case ("GET", 3, "remotelink"):
            return json(200, issue.remoteLinks.map { remoteLinkJSON($0, issue: issue) })
        case ("POST", 3, "remotelink"):
            guard let doc = object(body), let obj = doc["object"] as? [String: Any], let url = obj["url"] as? String, !url.isEmpty,
                let title = obj["title"] as? String, !title.isEmpty,
                let objData = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            else {
                return error(400, nil, errors: ["title": "'title' is required.", "url": "'url' is required."])
            }
            guard
                let (id, created) = await state.upsertRemoteLink(
                    issueKey: issue.key, globalId: doc["globalId"] as? String,
                    relationship: doc["relationship"] as? String, object: objData)
            else {
                return error(404, "Issue does not exist or you do not have permission to see it.")
            }
            return json(created ? 201 : 200, ["id": id, "self": "\(baseURL)/rest/api/2/issue/\(issue.key)/remotelink/\(id)"] as [String: Any])
        case ("PUT", 4, "remotelink"):
            guard let linkID = Int(r[3]) else { return error(404, "No remote link with id \(r[3])") }
            guard let doc = object(body), let obj = doc["object"] as? [String: Any], obj["url"] is String, obj["title"] is String,
                let objData = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            else {
                return error(400, nil, errors: ["title": "'title' is required.", "url": "'url' is required."])
            }
            let ok = await state.updateRemoteLink(
                issueKey: issue.key, linkID: linkID, globalId: doc["globalId"] as? String,
                relationship: doc["relationship"] as? String, object: objData)
            return ok ? raw(204, Data()) : error(404, "No remote link with id \(linkID)")
        case ("GET", 3, "transitions"):
            return json(
                200, ["expand": "transitions", "transitions": await state.availableTransitions(for: issue).map(transitionJSON)] as [String: Any])
        case ("POST", 3, "transitions"):
            guard let doc = object(body), let t = doc["transition"] as? [String: Any], let id = t["id"].map({ "\($0)" }) else {
                return error(400, "Missing transition id.")
            }
            // A screen's fields: a resolution is `{"name": "Done"}`.
            var fields: [String: String] = [:]
            for (name, value) in (doc["fields"] as? [String: Any] ?? [:]) {
                fields[name] = (value as? [String: Any])?["name"] as? String ?? value as? String
            }
            switch await state.transition(issueKey: issue.key, transitionID: id, fields: fields) {
            case .done?: return raw(204, Data())
            case .notAvailable?: return error(400, "Transition id '\(id)' is not valid for this issue.")
            case .missing(let names)?:
                return error(
                    400, nil,
                    errors: Dictionary(uniqueKeysWithValues: names.map { ($0, "\($0.prefix(1).uppercased() + $0.dropFirst()) is required.") }))
            case nil: return error(404, "Issue does not exist or you do not have permission to see it.")
            }
        default:
            return error(405, "Method Not Allowed")
        }
    }

    // MARK: Documents

    private func serverInfo() -> [String: Any] {
        var info: [String: Any] = [
            "baseUrl": baseURL, "buildDate": "2024-01-10T00:00:00.000+0000", "buildNumber": 100_240,
            "scmInfo": "emulator", "serverTitle": "Jira (jira-bridge emulator)", "versionNumbers": [9, 12, 0],
            "serverTime": RestAPI.dateFormat.string(from: Date()),
        ]
        switch deployment {
        case .server: info["version"] = "9.12.0"; info["deploymentType"] = "Server"
        case .cloud: info["version"] = "1001.0.0-SNAPSHOT"; info["deploymentType"] = "Cloud"
        }
        return info
    }

    func userJSON(_ u: EmulatedUser) -> [String: Any] {
        var doc: [String: Any] = [
            "displayName": u.displayName, "active": true, "timeZone": "UTC",
            "avatarUrls": [
                "48x48": "\(baseURL)/secure/useravatar?size=large&owner=\(u.name)",
                "16x16": "\(baseURL)/secure/useravatar?size=xsmall&owner=\(u.name)",
            ],
        ]
        switch deployment {
        case .server:
            doc["name"] = u.name; doc["key"] = u.name; doc["emailAddress"] = u.email
            doc["self"] = "\(baseURL)/rest/api/2/user?username=\(u.name)"
        case .cloud:
            doc["accountId"] = u.accountId; doc["accountType"] = "atlassian"; doc["emailAddress"] = u.email
            doc["self"] = "\(baseURL)/rest/api/2/user?accountId=\(u.accountId)"
        }
        return doc
    }

    private func issueTypeJSON(_ t: EmulatedIssueType) -> [String: Any] {
        [
            "id": t.id, "name": t.name, "description": t.description, "subtask": t.subtask, "self": "\(baseURL)/rest/api/2/issuetype/\(t.id)",
            "iconUrl": "\(baseURL)/images/icons/issuetypes/\(t.name.lowercased()).svg",
        ]
    }

    private func statusJSON(_ s: EmulatedStatus) -> [String: Any] {
        [
            "id": s.id, "name": s.name, "self": "\(baseURL)/rest/api/2/status/\(s.id)",
            "statusCategory": [
                "id": s.categoryID, "key": s.categoryKey, "name": s.categoryName, "colorName": s.categoryKey == "done" ? "green" : "blue-gray",
            ] as [String: Any],
        ]
    }

    private func worklogJSON(_ w: EmulatedWorklog) -> [String: Any] {
        [
            "id": w.id, "issueId": "0", "timeSpent": w.timeSpent, "timeSpentSeconds": w.timeSpentSeconds, "comment": w.comment,
            "author": ["name": w.author, "displayName": w.author], "started": "2026-01-01T00:00:00.000+0000",
        ]
    }

    private func transitionJSON(_ t: EmulatedTransition) -> [String: Any] {
        let to = state.statuses.first { $0.id == t.toStatusID }!
        return ["id": t.id, "name": t.name, "to": statusJSON(to), "hasScreen": !t.requiredFields.isEmpty, "isAvailable": true]
    }

    /// Jira 8.4+'s create metadata: the create screen's fields for a project and issue type.
    private func createMeta(projectKey: String, issueTypeID: String, query: [String: String]) async -> Response {
        let projects = await state.projects
        guard let p = projects[projectKey] ?? projects.values.first(where: { $0.id == projectKey }) else {
            return error(404, "No project could be found with key '\(projectKey)'.")
        }
        guard state.issueTypes.contains(where: { $0.id == issueTypeID }) else {
            return error(404, "Issue type with id '\(issueTypeID)' does not exist.")
        }
        func field(_ id: String, _ name: String, _ type: String, required: Bool) -> [String: Any] {
            [
                "fieldId": id, "key": id, "name": name, "required": required || p.requiredFields.contains(id), "hasDefaultValue": false,
                "operations": ["set"], "schema": ["type": type, "system": id],
            ]
        }
        var values: [[String: Any]] = [
            field("summary", "Summary", "string", required: true), field("issuetype", "Issue Type", "issuetype", required: true),
            field("project", "Project", "project", required: true), field("description", "Description", "string", required: false),
            field("labels", "Labels", "array", required: false), field("components", "Components", "array", required: false),
            field("priority", "Priority", "priority", required: false),
        ]
        for extra in p.requiredFields where !values.contains(where: { ($0["fieldId"] as? String) == extra }) {
            values.append(field(extra, extra, "any", required: true))
        }
        let startAt = Int(query["startAt"] ?? "0") ?? 0
        let maxResults = Int(query["maxResults"] ?? "50") ?? 50
        let page = Array(values.dropFirst(startAt).prefix(maxResults))
        return json(
            200,
            [
                "startAt": startAt, "maxResults": maxResults, "total": values.count, "isLast": startAt + page.count >= values.count,
                "values": page,
            ])
    }

    private func project(_ key: String) async -> Response {
        let projects = await state.projects
        guard let p = projects[key] ?? projects.values.first(where: { $0.id == key }) else {
            return error(404, "No project could be found with key '\(key)'.")
        }
        return json(
            200,
            [
                "id": p.id, "key": p.key, "name": p.name, "self": "\(baseURL)/rest/api/2/project/\(p.id)",
                "projectTypeKey": "software", "issueTypes": state.issueTypes.map(issueTypeJSON),
            ] as [String: Any])
    }

    private func userByName(_ name: String?) async -> Any {
        guard let name, let u = await state.users.first(where: { $0.name == name }) else { return NSNull() }
        return userJSON(u)
    }

    func issueJSON(_ issue: EmulatedIssue, expand: Set<String>, fieldList: Set<String>? = nil) async -> [String: Any] {
        let status = state.statuses.first { $0.id == issue.statusID }!
        let type = state.issueTypes.first { $0.id == issue.issueTypeID } ?? state.issueTypes[0]
        let project = await state.projects[issue.projectKey]
        var fields: [String: Any] = [
            "summary": issue.summary,
            "description": issue.description ?? NSNull(),
            "issuetype": issueTypeJSON(type),
            "project": ["id": project?.id ?? "0", "key": issue.projectKey, "name": project?.name ?? issue.projectKey],
            "status": statusJSON(status),
            "resolution": issue.resolution.map { ["id": "10000", "name": $0, "description": "Work has been completed on this issue."] as Any }
                ?? NSNull(),
            "resolutiondate": issue.resolutionDate.map { RestAPI.dateFormat.string(from: $0) as Any } ?? NSNull(),
            "labels": issue.labels,
            "reporter": await userByName(issue.reporter),
            "creator": await userByName(issue.reporter),
            "assignee": await userByName(issue.assignee),
            "created": RestAPI.dateFormat.string(from: issue.created),
            "updated": RestAPI.dateFormat.string(from: issue.updated),
            "priority": ["id": "3", "name": "Medium"],
            "duedate": NSNull(),
            "statuscategorychangedate": RestAPI.dateFormat.string(from: issue.updated),
            "comment": [
                "comments": await issue.comments.asyncMap { await commentJSON($0, issue: issue) }, "maxResults": issue.comments.count,
                "total": issue.comments.count, "startAt": 0,
            ] as [String: Any],
        ]
        if let extra = issue.extraFields, let doc = object(extra) { for (k, v) in doc { fields[k] = v } }
        if let fieldList, !fieldList.contains("*all") { fields = fields.filter { fieldList.contains($0.key) } }
        var doc: [String: Any] = ["id": issue.id, "key": issue.key, "self": "\(baseURL)/rest/api/2/issue/\(issue.id)", "fields": fields]
        if expand.contains("transitions") {
            doc["transitions"] = await state.availableTransitions(for: issue).map(transitionJSON)
        }
        if expand.contains("renderedFields") {
            doc["renderedFields"] =
                [
                    "description": (issue.renderedDescription ?? issue.description.map { "<p>\(Self.escapeHTML($0))</p>" }).map { $0 as Any }
                        ?? NSNull(),
                    "comment": ["comments": issue.comments.map { ["id": $0.id, "body": "<p>\(Self.escapeHTML($0.body))</p>"] }],
                ] as [String: Any]
        }
        return doc
    }

    private func commentJSON(_ c: EmulatedComment, issue: EmulatedIssue) async -> [String: Any] {
        [
            "id": c.id, "body": c.body, "author": await userByName(c.author), "updateAuthor": await userByName(c.author),
            "created": RestAPI.dateFormat.string(from: c.created), "updated": RestAPI.dateFormat.string(from: c.created),
            "self": "\(baseURL)/rest/api/2/issue/\(issue.id)/comment/\(c.id)",
        ]
    }

    private func remoteLinkJSON(_ l: EmulatedRemoteLink, issue: EmulatedIssue) -> [String: Any] {
        var doc: [String: Any] = [
            "id": l.id, "self": "\(baseURL)/rest/api/2/issue/\(issue.key)/remotelink/\(l.id)",
            "object": object(l.objectJSON) ?? [:],
        ]
        if let g = l.globalId { doc["globalId"] = g }
        if let r = l.relationship { doc["relationship"] = r }
        return doc
    }

    private func createIssue(_ body: Data, user: EmulatedUser) async -> Response {
        guard let doc = object(body), let fields = doc["fields"] as? [String: Any] else {
            return error(400, "Can not deserialize instance of com.atlassian.jira.rest.v2.issue.IssueUpdateBean")
        }
        switch await state.createIssue(fields: fields, reporter: user.name) {
        case .success(let issue):
            return json(201, ["id": issue.id, "key": issue.key, "self": "\(baseURL)/rest/api/2/issue/\(issue.id)"])
        case .failure(let f):
            return error(400, nil, errors: f.errors)
        }
    }

    // MARK: Search

    private func searchServer(_ q: [String: String]) async -> Response {
        let startAt = max(0, Int(q["startAt"] ?? "0") ?? 0)
        let maxResults = min(max(0, Int(q["maxResults"] ?? "50") ?? 50), 1000)
        let all: [EmulatedIssue]
        do { all = try await state.search(jql: String(q["jql"] ?? "")) } catch { return RestAPIError.jql(error) }
        let page = Array(all.dropFirst(startAt).prefix(maxResults))
        let fields = fieldSet(q)
        return json(
            200,
            [
                "startAt": startAt, "maxResults": maxResults, "total": all.count,
                "issues": await page.asyncMap { await issueJSON($0, expand: [], fieldList: fields) },
            ] as [String: Any])
    }

    private func searchCloud(_ q: [String: String]) async -> Response {
        let maxResults = min(max(1, Int(q["maxResults"] ?? "50") ?? 50), 5000)
        var offset = 0
        if let token = q["nextPageToken"] {
            guard let data = Data(base64Encoded: String(token)), let text = String(data: data, encoding: .utf8),
                text.hasPrefix("offset:"), let n = Int(text.dropFirst(7))
            else {
                return error(400, "The provided next page token is invalid or expired.")
            }
            offset = n
        }
        let all: [EmulatedIssue]
        do { all = try await state.search(jql: String(q["jql"] ?? "")) } catch { return RestAPIError.jql(error) }
        let page = Array(all.dropFirst(offset).prefix(maxResults))
        let isLast = offset + page.count >= all.count
        var doc: [String: Any] = [
            "isLast": isLast,
            "issues": await page.asyncMap { await issueJSON($0, expand: [], fieldList: fieldSet(q)) },
        ]
        if !isLast { doc["nextPageToken"] = Data("offset:\(offset + page.count)".utf8).base64EncodedString() }
        return json(200, doc)
    }

    private func fieldSet(_ q: [String: String]) -> Set<String>? {
        guard let f = q["fields"], !f.isEmpty else { return nil }
        return Set(f.split(separator: ",").map { String($0) })
    }

    static func escapeHTML(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

enum RestAPIError {
    static func jql(_ e: JQLError) -> Response { error(400, e.message) }
}

func object(_ data: Data) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var out: [T] = []
        for e in self { out.append(await transform(e)) }
        return out
    }
}
