import Integration

/// A failed Jira call, with the texts GitLab shows for it. Never carries a credential.
public struct JiraError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, coarsely: the basis for retry decisions and messages.
    public enum Kind: Sendable, Equatable {
        case http(status: Int)
        case connectionFailed
        case timeout
        case invalidURL
        /// The host name does not resolve (Ruby's SocketError in GitLab): reported like an invalid URL, but
        /// retried, since DNS can come back.
        case unresolvable
        case blocked
        case tls
        case invalidResponse
        /// Jira's answer is larger than the client reads: permanent, since asking again gets the same.
        case responseTooLarge
        /// The saved credentials hold a character no HTTP header may carry (a pasted line break): nothing was
        /// sent. Like a 401, only new credentials help.
        case unusableCredentials
        /// A 2xx answer whose body cannot be read (not JSON): a proxy's page, most likely. Transient.
        case unreadableAnswer
    }

    public let kind: Kind
    /// The network's message or the HTTP reason phrase ("Unauthorized").
    public let detail: String
    /// `errorMessages` and `errors` values from Jira's error body, if it sent any.
    public let jiraMessages: [String]
    /// Seconds Jira asked to wait (`Retry-After`, else `X-RateLimit-Reset`: `RateLimitWait`), if it said.
    public let retryAfterSeconds: Int?
    /// Atlassian's `RateLimit-Reason` (`RateLimits.reasonName`), if the answer named one.
    public var rateLimitReason: String? = nil
    /// Who answered: "Jira", or the forge ("GitHub") for a call to a forge's API. A forge's rate limit holds
    /// nothing of the Jira site's.
    public var answeredBy = "Jira"

    /// Whether the request may have reached Jira before it failed (false for refused connections,
    /// connect timeouts, DNS and TLS failures and refusals by the outbound guard).
    public let mayHaveReachedJira: Bool
    /// A write that may have been carried out although no answer came (a timeout or a lost connection
    /// after sending): it must be checked against Jira again before it is repeated.
    public private(set) var outcomeUnknown: Bool = false

    public init(kind: Kind, detail: String, jiraMessages: [String] = [], retryAfterSeconds: Int? = nil, reachedJira: Bool? = nil) {
        self.kind = kind
        self.detail = detail
        self.jiraMessages = jiraMessages
        self.retryAfterSeconds = retryAfterSeconds
        switch kind {
        case .blocked, .invalidURL, .unresolvable, .tls, .unusableCredentials: self.mayHaveReachedJira = reachedJira ?? false
        default: self.mayHaveReachedJira = reachedJira ?? true
        }
    }

    /// The same failure with every occurrence of `secrets` (and of their Basic-auth and URL-encoded forms, which
    /// the caller passes too) replaced by `[redacted]`: an error text is built from what a library says, and a
    /// library may quote the request it refused.
    public func redacting(_ secrets: [String]) -> JiraError {
        let secrets = secrets.filter { $0.utf8.count >= 4 }
        guard !secrets.isEmpty else { return self }
        func scrub(_ text: String) -> String {
            var out = text
            for secret in secrets where out.contains(secret) { out = out.replacingOccurrences(of: secret, with: "[redacted]") }
            return out
        }
        var copy = JiraError(
            kind: kind, detail: scrub(detail), jiraMessages: jiraMessages.map(scrub), retryAfterSeconds: retryAfterSeconds,
            reachedJira: mayHaveReachedJira)
        copy.rateLimitReason = rateLimitReason
        copy.answeredBy = answeredBy
        copy.outcomeUnknown = outcomeUnknown
        return copy
    }

    /// The same failure, as the forge's (`answeredBy`).
    public func fromForge(_ name: String) -> JiraError {
        var copy = self
        copy.answeredBy = name
        return copy
    }

    /// The same failure, marked as a write whose outcome is unknown.
    public func withOutcomeUnknown() -> JiraError {
        var copy = self
        copy.outcomeUnknown = true
        return copy
    }

    public var status: Int? { if case .http(let s) = kind { return s }; return nil }

    /// What Test settings reports as `service_response`: Jira's own messages, else the reason or network text.
    public var serviceResponse: String {
        jiraMessages.isEmpty ? detail : jiraMessages.joined(separator: " ")
    }

    /// GitLab's user-facing message for list and search requests (behavior doc (i)).
    public var userMessage: String {
        switch kind {
        case .connectionFailed: return "A connection error occurred while connecting to Jira. Try your request again."
        case .timeout: return "A timeout error occurred while connecting to Jira. Try your request again."
        case .invalidURL, .unresolvable:
            return "The Jira API URL for connecting to Jira is not valid. Check your Jira integration API URL and try again."
        case .blocked: return "Unable to connect to the Jira URL. Please verify your Jira integration URL and attempt the connection again."
        case .tls: return "An SSL error occurred while connecting to Jira: \(detail). Try your request again."
        case .http(401), .unusableCredentials:
            return "The credentials for accessing Jira are not valid. Check your Jira integration credentials and try again."
        case .http(403):
            return "The credentials for accessing Jira are not allowed to access the data. Check your Jira integration credentials and try again."
        case .http(400) where !jiraMessages.isEmpty:
            return
                "An error occurred while requesting data from Jira: \(JiraError.sentence(jiraMessages.map(JiraError.sanitize))) Check your Jira integration configuration and try again."
        case .http, .invalidResponse, .responseTooLarge, .unreadableAnswer:
            return "An error occurred while requesting data from Jira. Check your Jira integration configuration and try again."
        }
    }

    /// What a rate limit holds back (`RateLimits.scope`), or nil when this is no rate limit.
    public var rateLimitScope: RateLimitScope? {
        guard let status, answeredBy == "Jira" else { return nil }
        return RateLimits.scope(status: status, reason: rateLimitReason, askedToWait: retryAfterSeconds != nil)
    }

    /// Whether trying again later may succeed (connection trouble, timeouts, 429 and 5xx).
    public var isTransient: Bool {
        switch kind {
        case .connectionFailed, .timeout, .unresolvable, .unreadableAnswer: return true
        case .http(let s): return s == 429 || s >= 500
        case .tls, .invalidURL, .blocked, .invalidResponse, .responseTooLarge, .unusableCredentials: return false
        }
    }

    public var description: String {
        switch kind {
        case .http(let s): return "\(answeredBy) answered \(s) \(detail)" + (jiraMessages.isEmpty ? "" : ": " + jiraMessages.joined(separator: " "))
        default: return "\(kind): \(detail)"
        }
    }

    /// Rails' `to_sentence`: "a", "a and b", "a, b and c".
    static func sentence(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        case 2: return "\(items[0]) and \(items[1])"
        default: return items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }

    /// Strips markup from a message Jira sent, as GitLab's sanitizer does before showing it.
    static func sanitize(_ text: String) -> String {
        var out = ""
        var inTag = false
        for ch in text {
            if ch == "<" { inTag = true; continue }
            if ch == ">" && inTag { inTag = false; continue }
            if !inTag { out.append(ch) }
        }
        return out
    }
}
