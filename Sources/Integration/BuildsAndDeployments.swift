/// What a pipeline or a deployment puts in Jira Cloud's Builds and Deployments views (Jira Software's
/// `POST /rest/builds/0.1/bulk` and `POST /rest/deployments/0.1/bulk`, `jira-software-cloud.openapi.json`), as
/// pure functions of the event and the integration's key rules.
///
/// Sequence numbers (`updateSequenceNumber`): Jira keeps a build's or deployment's data only when a submission
/// carries a greater number than the one it has. Each comes from the forge's time of the state, in
/// milliseconds, times 8, plus the state's rank (waiting 0, running 1, finished 2), so that a run that starts and
/// ends in the same millisecond still ends, and a state delivered late never replaces a newer one.
public enum BuildsAndDeployments {
    public enum Kind: String, Sendable {
        case builds, deployments

        /// The delivery log's action.
        public var action: DeliveryAction { self == .builds ? .build : .deployment }
        /// What Atlassian calls the OAuth permission its API needs.
        public var permission: String { self == .builds ? "Builds" : "Deployments" }
    }

    /// Atlassian's limits (the schema's `maxLength` and `maxItems`).
    public enum Limits {
        public static let text = 255
        public static let url = 2000
        public static let perRequest = 100
        public static let issueKeys = 100
    }

    /// The build `event` makes, or nil when nothing in it names a key: the head commit's message, the ref, and
    /// the titles (a merge request's, GitHub's `display_title`).
    public static func build(_ event: PipelineEvent, extractor: ReferenceExtractor) -> JSONValue? {
        let texts = [event.commitMessage, event.ref] + event.titles
        let keys = Array(ordered(texts.flatMap { extractor.allKeys($0) }).prefix(Limits.issueKeys))
        guard !keys.isEmpty else { return nil }
        let project = event.project
        let repository = DevelopmentInfo.repositoryID(project)
        let pipelineID = event.workflowID.isEmpty ? repository : repository + "-" + event.workflowID
        let millis = event.updatedAt.flatMap { JiraTimestamp($0)?.millis } ?? 0
        let rank: Int64
        switch event.state {
        case .pending, .unknown: rank = 0
        case .inProgress: rank = 1
        case .successful, .failed, .cancelled: rank = 2
        }
        let name = event.workflowName.isEmpty ? "Pipeline" : event.workflowName
        var doc: [String: JSONValue] = [
            "schemaVersion": .string("1.0"),
            "pipelineId": .string(Texts.cut(pipelineID, to: Limits.text)),
            "buildNumber": .number(Double(max(0, event.runNumber))),
            "updateSequenceNumber": .number(Double(sequence(millis, rank: rank))),
            "displayName": .string(Texts.cut("\(name) #\(max(0, event.runNumber))", to: Limits.text)),
            "label": .string(Texts.cut(event.ref.isEmpty ? project.pathWithNamespace : event.ref, to: Limits.text)),
            "url": .string(Texts.cut(event.url, to: Limits.url)),
            "state": .string(event.state.rawValue),
            "lastUpdated": .string(JiraTimestamp(millis: max(0, millis)).utcText),
            "issueKeys": .array(keys.map(JSONValue.string)),
        ]
        if let references = references(project, sha: event.sha, ref: event.ref) { doc["references"] = references }
        return .object(doc)
    }

    /// The deployment `event` makes, or nil when nothing in it names a key (the deployed commit's message, the
    /// ref, the description).
    public static func deployment(_ event: DeploymentEvent, extractor: ReferenceExtractor) -> JSONValue? {
        let keys = Array(
            ordered([event.commitMessage, event.ref, event.description].flatMap { extractor.allKeys($0) }).prefix(Limits.issueKeys))
        guard !keys.isEmpty else { return nil }
        let project = event.project
        let millis = event.updatedAt.flatMap { JiraTimestamp($0)?.millis } ?? 0
        let rank: Int64
        switch event.state {
        case .pending, .unknown: rank = 0
        case .inProgress: rank = 1
        case .successful, .failed, .cancelled, .rolledBack: rank = 2
        }
        let environment = Texts.cut(event.environment.isEmpty ? "default" : event.environment, to: Limits.text)
        let shortSHA = String(event.sha.prefix(8))
        let fallback = shortSHA.isEmpty ? "Deployment to \(environment)" : "Deployed \(shortSHA) to \(environment)"
        let firstLine = event.commitMessage.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        let description = !event.description.isEmpty ? event.description : !firstLine.isEmpty ? firstLine : fallback
        return .object([
            "schemaVersion": .string("1.0"),
            "deploymentSequenceNumber": .number(Double(max(0, event.deploymentID))),
            "updateSequenceNumber": .number(Double(sequence(millis, rank: rank))),
            "issueKeys": .array(keys.map(JSONValue.string)),
            "displayName": .string(Texts.cut("Deployment \(max(0, event.deploymentID)) to \(environment)", to: Limits.text)),
            "url": .string(Texts.cut(event.url, to: Limits.url)),
            "description": .string(Texts.cut(description, to: Limits.text)),
            "label": .string(Texts.cut(event.ref.isEmpty ? (shortSHA.isEmpty ? environment : shortSHA) : event.ref, to: Limits.text)),
            "lastUpdated": .string(JiraTimestamp(millis: max(0, millis)).utcText),
            "state": .string(event.state.rawValue),
            "pipeline": .object([
                "id": .string(DevelopmentInfo.repositoryID(project)),
                "displayName": .string(Texts.cut(project.pathWithNamespace, to: Limits.text)),
                "url": .string(Texts.cut(project.webURL, to: Limits.url)),
            ]),
            "environment": .object([
                "id": .string(environment), "displayName": .string(environment),
                "type": .string(environmentType(name: event.environment, tier: event.tier)),
            ]),
        ])
    }

    /// Jira's environment type: GitLab's tier when it names one of Jira's, else from the name (`prod`,
    /// `production` → production; `stag*` → staging; `test*`, `qa` → testing; `dev*` → development), else
    /// `unmapped`.
    public static func environmentType(name: String, tier: String?) -> String {
        let types: Set<String> = ["production", "staging", "testing", "development"]
        if let tier = tier?.lowercased(), types.contains(tier) { return tier }
        let n = name.lowercased()
        // GitLab's nested environments (`review/feature-1`) are named by their folder's last part.
        let last = n.split(separator: "/").last.map(String.init) ?? n
        for word in [n, last] {
            if word == "prod" || word == "production" { return "production" }
            if word.hasPrefix("stag") { return "staging" }
            if word.hasPrefix("test") || word == "qa" { return "testing" }
            if word.hasPrefix("dev") { return "development" }
        }
        return "unmapped"
    }

    /// What identifies a build (`pipelineId`, `buildNumber`) or a deployment (`pipeline.id`, `environment.id`,
    /// `deploymentSequenceNumber`) in Jira.
    public static func key(_ kind: Kind, _ item: JSONValue) -> String {
        func number(_ v: JSONValue?) -> String { v?.number.map { String(Int64($0)) } ?? "?" }
        switch kind {
        case .builds: return (item["pipelineId"]?.string ?? "?") + "#" + number(item["buildNumber"])
        case .deployments:
            return (item["pipeline"]?["id"]?.string ?? "?") + "/" + (item["environment"]?["id"]?.string ?? "?") + "#"
                + number(item["deploymentSequenceNumber"])
        }
    }

    /// The request body for `items`, each key once at its greatest sequence number; nil past Atlassian's 100
    /// per request.
    public static func body(_ kind: Kind, _ items: [JSONValue]) -> JSONValue? {
        var byKey: [String: JSONValue] = [:]
        var order: [String] = []
        for item in items {
            let k = key(kind, item)
            if let old = byKey[k] {
                if (item["updateSequenceNumber"]?.number ?? 0) > (old["updateSequenceNumber"]?.number ?? 0) { byKey[k] = item }
            } else {
                byKey[k] = item
                order.append(k)
            }
        }
        guard !order.isEmpty, order.count <= Limits.perRequest else { return nil }
        return .object([kind.rawValue: .array(order.map { byKey[$0]! }), "providerMetadata": .object(["product": .string("jira-bridge")])])
    }

    /// The items Atlassian refused in an answer (`rejectedBuilds`, `rejectedDeployments`), by key, with its
    /// messages.
    public static func rejections(_ kind: Kind, _ answer: JSONValue) -> [String: String] {
        let field = kind == .builds ? "rejectedBuilds" : "rejectedDeployments"
        var out: [String: String] = [:]
        for rejected in answer[field]?.array ?? [] {
            guard let k = rejected["key"] else { continue }
            let itemKey: String
            switch kind {
            case .builds: itemKey = key(.builds, k)
            case .deployments:
                itemKey = key(
                    .deployments,
                    .object([
                        "pipeline": .object(["id": k["pipelineId"] ?? .null]), "environment": .object(["id": k["environmentId"] ?? .null]),
                        "deploymentSequenceNumber": k["deploymentSequenceNumber"] ?? .null,
                    ]))
            }
            let messages = (rejected["errors"]?.array ?? []).compactMap { $0["message"]?.string }
            out[itemKey] = messages.isEmpty ? "rejected" : messages.prefix(5).joined(separator: "; ")
        }
        return out
    }

    /// An item in words, for the delivery log: `build #12 (successful)`, `deployment 15 to production (successful)`.
    public static func summary(_ kind: Kind, _ item: JSONValue) -> String {
        let state = item["state"]?.string ?? "?"
        switch kind {
        case .builds: return "build \(item["displayName"]?.string ?? "?") (\(state))"
        case .deployments: return "\(item["displayName"]?.string ?? "deployment") (\(state))"
        }
    }

    static func sequence(_ millis: Int64, rank: Int64) -> Int64 {
        // Past year 2^60/8 ms the product would overflow: such a time is no forge's.
        min(max(0, millis), Int64.max / 16) &* 8 &+ rank
    }

    static func references(_ project: ForgeProject, sha: String, ref: String) -> JSONValue? {
        guard EventLimits.isCommitID(sha) else { return nil }
        var reference: [String: JSONValue] = [
            "commit": .object(["id": .string(sha), "repositoryUri": .string(Texts.cut(project.webURL, to: Limits.url))])
        ]
        if !ref.isEmpty {
            reference["ref"] = .object([
                "name": .string(Texts.cut(ref, to: Limits.text)),
                "uri": .string(Texts.cut(project.forge.branchURL(project: project.webURL, branch: ref), to: Limits.url)),
            ])
        }
        return .array([.object(reference)])
    }

    static func ordered(_ keys: [String]) -> [String] {
        var seen = Set<String>()
        return keys.filter { seen.insert($0).inserted }
    }
}
