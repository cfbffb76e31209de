import Foundation

/// How long Jira asks a client to wait before the next request, from the headers of a refusal (429, and 503,
/// which Atlassian sends with `Retry-After` too): `Retry-After` in seconds or as an HTTP date, else
/// `X-RateLimit-Reset` (an ISO 8601 time, Atlassian's rate-limiting page). At most a day: a header that asks
/// for more (or is nonsense such as `1e300`) is read as a day, and the retry policy caps each wait anyway.
public enum RateLimitWait {
    public static let maximumSeconds = 86_400

    public static func seconds(retryAfter: String?, rateLimitReset: String?, now: Date = Date()) -> Int? {
        if let text = retryAfter?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            if text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
                // Whole seconds; a number too long for an Int is still "very long".
                return text.utf8.count > 6 ? maximumSeconds : min(Int(text) ?? maximumSeconds, maximumSeconds)
            }
            if let date = httpDate(text) { return clamp(date.timeIntervalSince(now)) }
        }
        if let text = rateLimitReset?.trimmingCharacters(in: .whitespaces), !text.isEmpty, text.utf8.count <= 64 {
            // GitHub's `X-RateLimit-Reset` and GitLab's `RateLimit-Reset` are seconds since 1970; Jira's an ISO time.
            if (9...11).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let epoch = Double(text) {
                return clamp(Date(timeIntervalSince1970: epoch).timeIntervalSince(now))
            }
            if let date = iso8601(text) { return clamp(date.timeIntervalSince(now)) }
        }
        return nil
    }

    static func clamp(_ interval: TimeInterval) -> Int {
        guard interval.isFinite, interval > 0 else { return 0 }
        return Int(min(interval.rounded(.up), Double(maximumSeconds)))
    }

    /// `Wed, 21 Oct 2015 07:28:00 GMT` (RFC 9110's preferred form).
    static func httpDate(_ text: String) -> Date? {
        guard text.utf8.count <= 64 else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    /// `2026-03-02T12:00:00Z`, `2026-03-02T12:00:00.123Z`, `2026-03-02T12:00:00+01:00`.
    static func iso8601(_ text: String) -> Date? {
        if let d = try? Date(text, strategy: .iso8601) { return d }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
