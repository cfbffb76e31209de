import Foundation
import Integration
import JiraClient
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// This process's adaptive limit per Jira site (`AdaptiveLimit`): cut by Jira's 429s, grown back by good answers.
final class SiteLimits: Sendable {
    private let limits = Mutex<[String: AdaptiveLimit]>([:])
    let ceiling: Int

    init(ceiling: Int) {
        self.ceiling = ceiling
    }

    func record(site: String, rateLimited: Bool, succeeded: Bool, now: Millis, metrics: BridgeMetrics) {
        guard rateLimited || succeeded else { return }
        let changed = limits.withLock { all -> Int? in
            if !rateLimited && all[site] == nil { return nil }  // at the ceiling already: nothing to track
            var limit = all[site] ?? AdaptiveLimit(ceiling: ceiling)
            let before = limit.current
            if rateLimited { limit.rateLimited(now: now) } else { limit.succeeded() }
            // Back at the ceiling: forgotten, so the map holds only the sites that are held back.
            if limit.current >= ceiling && !rateLimited { all[site] = nil } else { all[site] = limit }
            if all.count > 10_000 { all.removeAll() }
            return limit.current == before ? nil : limit.current
        }
        if let changed { metrics.siteConcurrency(site: site, limit: changed) }
    }

    /// The sites whose limit is below the ceiling, with their limit.
    func lowered() -> [String: Int] {
        limits.withLock { all in all.mapValues(\.current) }
    }
}
