/// How a failed delivery is retried: exponential backoff with jitter for transient failures,
/// at least the wait Jira asks for (429, 503), and never for Jira's refusals (400, 403, 404; a 401 pauses).
public struct RetryPolicy: Sendable, Equatable {
    /// The first delay; each further attempt doubles it.
    public var baseDelaySeconds: Double
    public var maxDelaySeconds: Double
    /// After this long since the delivery was created, a transient failure makes it dead.
    public var maxAgeSeconds: Double

    /// After a write whose outcome is unknown (it timed out or lost its connection after sending), the
    /// re-check waits at least this long, so a write Jira finishes late is seen instead of repeated. Four
    /// times the 30 s request deadline.
    public var uncertainWriteDelaySeconds: Double

    public init(
        baseDelaySeconds: Double = 2, maxDelaySeconds: Double = 3600, maxAgeSeconds: Double = 24 * 3600,
        uncertainWriteDelaySeconds: Double = 120
    ) {
        self.baseDelaySeconds = baseDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
        self.maxAgeSeconds = maxAgeSeconds
        self.uncertainWriteDelaySeconds = uncertainWriteDelaySeconds
    }

    /// How a failure looks to the policy.
    public enum Failure: Sendable, Equatable {
        case transient(retryAfterSeconds: Int?)
        /// A write that may have happened: retried (after a fresh read) no sooner than `uncertainWriteDelaySeconds`.
        case uncertainWrite
        case permanent
        /// Jira rejected the credentials (401): not retried, not failed, but paused until the credentials work.
        case credentialsRejected
    }

    public enum Decision: Sendable, Equatable {
        case retry(afterSeconds: Double)
        /// Permanent: recorded as failed, retried only by hand.
        case fail
        /// Transient, but out of time: recorded as dead, retried only by hand.
        case dead
        /// The credentials were rejected: it waits, with every delivery that uses them, for credentials that
        /// work (even past the deadline: the paused sweep makes it dead, so a rejection is never a timeout).
        case pause
    }

    /// `attempts` counts the attempt that just failed; `random` is uniform in [0, 1).
    public func decide(_ failure: Failure, attempts: Int, ageSeconds: Double, random: Double) -> Decision {
        let retryAfter: Int?
        switch failure {
        case .permanent: return .fail
        case .credentialsRejected: return .pause
        case .transient(let seconds): retryAfter = seconds
        case .uncertainWrite: retryAfter = nil
        }
        let exponent = Double(min(max(attempts - 1, 0), 40))
        let ceiling = min(maxDelaySeconds, baseDelaySeconds * pow2(exponent))
        // "Equal jitter": half fixed, half random, so delays still grow but spread out.
        var delay = ceiling / 2 + ceiling / 2 * random
        if let retryAfter { delay = max(delay, Double(retryAfter)) }
        if failure == .uncertainWrite { delay = max(delay, uncertainWriteDelaySeconds) }
        if ageSeconds + delay > maxAgeSeconds { return .dead }
        return .retry(afterSeconds: delay)
    }

    private func pow2(_ e: Double) -> Double {
        var v = 1.0
        for _ in 0..<Int(e) { v *= 2 }
        return v
    }
}
