import Integration
import Testing

/// Backoff with jitter, Retry-After, the uncertain-write delay and the age limit, with the default settings.
@Suite("Retry policy")
struct RetryPolicyTests {
    let policy = RetryPolicy()

    @Test("the defaults: 2 s first delay, at most an hour, a day in all, 120 s after an uncertain write")
    func defaults() {
        #expect(policy == RetryPolicy(baseDelaySeconds: 2, maxDelaySeconds: 3600, maxAgeSeconds: 86_400, uncertainWriteDelaySeconds: 120))
    }

    @Test("delays double per attempt, with equal jitter between half and all of the ceiling", arguments: [(1, 2.0), (2, 4.0), (3, 8.0), (6, 64.0)])
    func doubling(_ attempts: Int, _ ceiling: Double) {
        #expect(policy.decide(.transient(retryAfterSeconds: nil), attempts: attempts, ageSeconds: 0, random: 0) == .retry(afterSeconds: ceiling / 2))
        #expect(
            policy.decide(.transient(retryAfterSeconds: nil), attempts: attempts, ageSeconds: 0, random: 0.999_999)
                == .retry(afterSeconds: ceiling / 2 + ceiling / 2 * 0.999_999))
    }

    @Test("the ceiling stops at the maximum delay, however many attempts")
    func ceiling() {
        #expect(policy.decide(.transient(retryAfterSeconds: nil), attempts: 1_000, ageSeconds: 0, random: 0) == .retry(afterSeconds: 1800))
        #expect(policy.decide(.transient(retryAfterSeconds: nil), attempts: Int.max, ageSeconds: 0, random: 1) == .retry(afterSeconds: 3600))
    }

    @Test("Retry-After is a floor, never shortened by the backoff")
    func retryAfter() {
        #expect(policy.decide(.transient(retryAfterSeconds: 90), attempts: 1, ageSeconds: 0, random: 0) == .retry(afterSeconds: 90))
        #expect(policy.decide(.transient(retryAfterSeconds: 1), attempts: 6, ageSeconds: 0, random: 0) == .retry(afterSeconds: 32))
    }

    @Test("permanent failures are never retried")
    func permanent() {
        #expect(policy.decide(.permanent, attempts: 1, ageSeconds: 0, random: 0) == .fail)
        // A 401 is neither a failure nor a retry to the policy: it pauses, past the deadline too.
        #expect(policy.decide(.credentialsRejected, attempts: 1, ageSeconds: 0, random: 0) == .pause)
        #expect(policy.decide(.credentialsRejected, attempts: 50, ageSeconds: 1e9, random: 0) == .pause)
    }

    @Test("a retry that would end beyond the age limit makes the delivery dead")
    func ageLimit() {
        #expect(policy.decide(.transient(retryAfterSeconds: nil), attempts: 1, ageSeconds: 86_399.5, random: 0) == .dead)
        #expect(policy.decide(.transient(retryAfterSeconds: 7200), attempts: 1, ageSeconds: 80_000, random: 0) == .dead)
        #expect(policy.decide(.transient(retryAfterSeconds: nil), attempts: 1, ageSeconds: 86_398, random: 0) == .retry(afterSeconds: 1))
    }

    @Test("an uncertain write waits at least the uncertain-write delay, and longer when the backoff is longer")
    func uncertainWrite() {
        #expect(policy.decide(.uncertainWrite, attempts: 1, ageSeconds: 0, random: 0) == .retry(afterSeconds: 120))
        #expect(policy.decide(.uncertainWrite, attempts: 10, ageSeconds: 0, random: 0) == .retry(afterSeconds: 512))
    }
}
