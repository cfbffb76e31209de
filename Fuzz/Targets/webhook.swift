// Fuzz target: webhook bodies as /webhooks/gitlab, /webhooks/github and /webhooks/gitea read them (parse,
// project reference, every handled event), then planned, the Development panel's entities, builds and
// deployments included.
import Forges
import Foundation
import Integration

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebhook(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Data(bytes: data, count: size)
    var events: [ForgeEvent] = []
    if let document = try? GitLabWebhook.parse(body) {
        _ = try? GitLabWebhook.projectReference(document)
        for kind in ["Push Hook", "Merge Request Hook", "Pipeline Hook", "Deployment Hook"] {
            if let event = try? GitLabWebhook.decode(event: kind, document: document) { events.append(event) }
        }
    }
    // GitHub's and Gitea's form bodies carry the JSON in `payload`.
    let json = (try? WebhookBody.json(body, contentType: "application/x-www-form-urlencoded")) ?? body
    for candidate in [body, json] {
        if let document = try? GitHubWebhook.parse(candidate) {
            _ = try? GitHubWebhook.projectReference(document)
            for kind in ["push", "pull_request", "workflow_run", "deployment_status", "delete"] {
                if let event = try? GitHubWebhook.decode(event: kind, document: document) { events.append(event) }
                if let event = try? GiteaWebhook.decode(event: kind, type: nil, document: document) { events.append(event) }
            }
        }
    }
    // What planning does with them: keys, limits, texts, per forge.
    var settings = JiraSettings()
    settings.active = true
    settings.url = "https://jira.example.com"
    settings.transitionAutomatic = true
    settings.developmentPanelEnabled = true
    settings.buildsEnabled = true
    settings.deploymentsEnabled = true
    if let extractor = try? ReferenceExtractor(prefix: "", regex: "") {
        let planner = EventPlanner(settings: settings, extractor: extractor)
        for event in events {
            _ = planner.planWithNotes(event)
            _ = ProjectRegistration(event.project)
            // The Development panel's entities stay within Atlassian's limits, and merge with themselves.
            for case .store(let repository) in DevelopmentInfo.changes(event, extractor: extractor) {
                for entity in repository.commits where entity.issueKeys.count > DevelopmentInfo.Limits.issueKeys || entity.message.count > 1024 {
                    fatalError("a commit past Atlassian's limits: \(entity.issueKeys.count) keys, \(entity.message.count) characters")
                }
                guard DevelopmentInfo.merge(repository.json, repository.json) != nil else { fatalError("a repository does not merge with itself") }
            }
            // Builds and deployments stay within Atlassian's limits too.
            var item: (BuildsAndDeployments.Kind, JSONValue)? = nil
            if case .pipeline(let p) = event { item = BuildsAndDeployments.build(p, extractor: extractor).map { (.builds, $0) } }
            if case .deployment(let d) = event { item = BuildsAndDeployments.deployment(d, extractor: extractor).map { (.deployments, $0) } }
            if let (kind, json) = item {
                for field in ["displayName", "label", "description", "pipelineId"] where (json[field]?.string?.count ?? 0) > 255 {
                    fatalError("\(kind) \(field) past 255 characters")
                }
                let keys = json["issueKeys"]?.array?.count ?? 0
                guard (1...100).contains(keys), BuildsAndDeployments.body(kind, [json, json]) != nil else { fatalError("\(kind) past its limits") }
            }
        }
    }
    return 0
}
