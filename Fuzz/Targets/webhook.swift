// Fuzz target: GitLab webhook bodies, as /webhooks/gitlab reads them (parse, project reference, both events).
import Forges
import Foundation
import Integration

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebhook(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Data(bytes: data, count: size)
    guard let document = try? GitLabWebhook.parse(body) else { return 0 }
    _ = try? GitLabWebhook.projectReference(document)
    for kind in ["Push Hook", "Merge Request Hook"] {
        if let event = try? GitLabWebhook.decode(event: kind, document: document) {
            // What planning does with it: keys, limits, texts.
            var settings = JiraSettings()
            settings.active = true
            settings.url = "https://jira.example.com"
            settings.transitionAutomatic = true
            if let extractor = try? ReferenceExtractor(prefix: "", regex: "") {
                _ = EventPlanner(settings: settings, extractor: extractor).planWithNotes(event)
            }
        }
    }
    return 0
}
