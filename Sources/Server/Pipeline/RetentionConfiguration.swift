import Integration
import Logging
import ServiceLifecycle
import Store

/// How long finished work is kept (docs/operations.md, "Retention").
public struct RetentionConfiguration: Sendable {
    /// Succeeded and skipped deliveries, and the events all of whose deliveries are gone, are removed after this
    /// many days; 0 keeps everything.
    public var days: Double
    /// How often the server prunes, and how long after start the first pass comes.
    public var interval: Duration
    public var firstPass: Duration
    /// Rows removed per transaction: intake never waits behind a long delete.
    public var batch: Int
    /// Transactions per pass; the rest waits for the next pass.
    public var batchesPerPass: Int
    /// The pause between two transactions of a pass.
    public var pause: Duration

    public init(
        days: Double = 30, interval: Duration = .seconds(3600), batch: Int = 1000, batchesPerPass: Int = 100,
        pause: Duration = .milliseconds(50), firstPass: Duration = .seconds(60)
    ) {
        self.days = days
        self.interval = interval
        self.firstPass = firstPass
        self.batch = batch
        self.batchesPerPass = batchesPerPass
        self.pause = pause
    }

    /// The cutoff for a pass starting at `now`.
    public func cutoff(now: Millis) -> Millis { now - Millis(days * 86_400_000) }
}
