import Foundation
import HTTPTypes
import Hummingbird
import Integration
import Store
import Synchronization

/// Failed sign-ins (or API requests with a wrong token) per client address: after `limit` within 5 minutes,
/// wrong tokens from that address are refused until the window ends (guessing tokens is slow anyway; this
/// also keeps the log quiet). A valid token is never refused, and signing in does not reset the count (a
/// guesser behind the same proxy gains nothing from it). At most 10,000 addresses are tracked; the oldest
/// windows go first.
final class SignInThrottle: Sendable {
    /// Sign-ins: a person types a token.
    static let signInLimit = 10
    /// API requests: a script with a wrong token may retry a few times before it is slowed.
    static let apiLimit = 30
    static let windowMillis: Int64 = 5 * 60 * 1000
    let limit: Int

    init(limit: Int = SignInThrottle.signInLimit) {
        self.limit = limit
    }

    private let failures = Mutex<[String: (count: Int, since: Int64)]>([:])

    /// Seconds to wait before trying again, or nil when the address may try.
    func retryAfter(_ address: String, now: Int64) -> Int? {
        failures.withLock { all in
            guard let entry = all[address], entry.count >= limit else { return nil }
            let remaining = entry.since + Self.windowMillis - now
            if remaining <= 0 { all[address] = nil; return nil }
            return Int((remaining + 999) / 1000)
        }
    }

    func failed(_ address: String, now: Int64) {
        failures.withLock { all in
            if var entry = all[address], now - entry.since < Self.windowMillis {
                entry.count += 1
                all[address] = entry
            } else {
                if all.count >= 10_000 {
                    all = all.filter { now - $0.value.since < Self.windowMillis }
                    if all.count >= 10_000, let oldest = all.min(by: { $0.value.since < $1.value.since }) { all[oldest.key] = nil }
                }
                all[address] = (1, now)
            }
        }
    }
}
