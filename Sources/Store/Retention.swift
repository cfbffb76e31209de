import Integration

/// Retention's passes (the server's hourly one and `jira-bridge prune`), over `BridgeStore.prune`.
public enum Retention {
    /// Removes what is older than `before` in transactions of `batch` rows, at most `maxBatches` of them.
    public static func prune(
        store: any RetentionStore, before: Millis, batch: Int, maxBatches: Int, pause: Duration = .zero, sleeper: Sleeper = .system
    )
        async throws -> (deliveries: Int, events: Int)
    {
        var total = (deliveries: 0, events: 0)
        for _ in 0..<maxBatches {
            let removed = try await store.prune(before: before, limit: batch)
            total.deliveries += removed.deliveries
            total.events += removed.events
            if removed.deliveries < batch && removed.events < batch { break }
            if pause > .zero { try? await sleeper.sleep(for: pause) }
        }
        return total
    }
}
