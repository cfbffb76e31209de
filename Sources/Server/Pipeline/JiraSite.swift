import Foundation
import Integration
import JiraClient
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// The identity of a Jira site for the ledger and the per-site limit: the REST base without a trailing slash.
enum JiraSite {
    static func key(_ clientURL: String) -> String {
        guard let url = JiraURL(clientURL) else { return clientURL }
        return url.origin + url.contextPath
    }
}
