/// The parts of a Jira URL that the integration cares about, parsed without Foundation's lenient rules.
public struct JiraURL: Sendable, Equatable {
    public var scheme: String
    public var host: String
    public var port: Int?
    /// The path without a trailing `/`, e.g. `/jira` for `https://host/jira/`; empty at the root.
    public var contextPath: String

    /// Whether `text` names a user (and maybe a password) before its host (`https://user:pass@host`): such a
    /// URL would show the password to everyone who may read it.
    public static func hasUserInfo(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i + 2 < scalars.count, !(scalars[i] == ":" && scalars[i + 1] == "/" && scalars[i + 2] == "/") { i += 1 }
        guard i + 2 < scalars.count else { return false }
        for c in scalars[(i + 3)...] {
            if c == "/" || c == "?" || c == "#" || c == "\\" { return false }
            if c == "@" { return true }
        }
        return false
    }

    /// Parses an absolute `http`/`https` URL with a host; anything else (`example.com`, `ftp://x`) is nil.
    public init?(_ text: String) {
        let trimmed = text
        guard let colon = trimmed.firstIndex(of: ":"),
            trimmed[colon...].hasPrefix("://")
        else { return nil }
        let scheme = trimmed[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var rest = trimmed[trimmed.index(colon, offsetBy: 3)...]
        if let q = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<q] }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = String(authority)
        var port: Int? = nil
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            } else if !after.isEmpty {
                return nil
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty,
            host.unicodeScalars.allSatisfy({ JiraURL.hostScalar($0) })
        else { return nil }
        var context = String(path)
        while context.hasSuffix("/") { context.removeLast() }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
        self.contextPath = context
    }

    private static func hostScalar(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "a"..."z", "A"..."Z", "0"..."9", "-", ".", ":", "_": return true
        default: return s.value > 127
        }
    }

    /// `scheme://host[:port]`, the site that REST paths are appended to (after the context path).
    public var origin: String {
        let h = host.contains(":") ? "[\(host)]" : host
        if let port { return "\(scheme)://\(h):\(port)" }
        return "\(scheme)://\(h)"
    }

    /// The URL of a REST path under this base: `origin + contextPath + path`.
    public func endpoint(_ path: String) -> String { origin + contextPath + path }

    /// GitLab's `valid_jira_cloud_url?`: scheme https and a host ending in `.atlassian.net`.
    public static func isCloud(_ text: String?) -> Bool {
        guard let text, let url = JiraURL(text) else { return false }
        if isGateway(text) { return true }
        return url.scheme == "https" && url.host.hasSuffix(".atlassian.net") && url.host.count > ".atlassian.net".count
    }

    /// Atlassian's API gateway for one Cloud site, `https://api.atlassian.com/ex/jira/{cloudId}`, which
    /// service accounts and scoped API tokens must use.
    public static func isGateway(_ text: String?) -> Bool {
        guard let text, let url = JiraURL(text), url.scheme == "https", url.host == "api.atlassian.com" else { return false }
        let parts = url.contextPath.split(separator: "/")
        return parts.count == 3 && parts[0] == "ex" && parts[1] == "jira" && !parts[2].isEmpty
    }

    /// Drops one trailing `/`, as GitLab's `url` and `api_url` getters do.
    public static func normalize(_ text: String) -> String {
        text.hasSuffix("/") ? String(text.dropLast()) : text
    }
}

/// GitLab's deployment-type rule, applied to what serverInfo answered (nil when it failed or was empty).
public enum DeploymentDetection {
    public static func detect(serverInfoDeploymentType: String?, serverInfoAnswered: Bool, clientURL: String?) -> JiraDeploymentType {
        if serverInfoAnswered {
            if serverInfoDeploymentType == "Cloud" || JiraURL.isCloud(clientURL) { return .cloud }
            return .server
        }
        guard let clientURL, !clientURL.isEmpty else { return .unknown }
        return JiraURL.isCloud(clientURL) ? .cloud : .server
    }
}

/// A Jira Cloud site's id, as Atlassian's gateway paths carry it (`.../ex/jira/{cloudId}`,
/// `.../cloud/{cloudId}/...`).
public enum CloudID {
    /// The id in an `api_url` of the form `https://api.atlassian.com/ex/jira/{cloudId}` (any host: a test's
    /// gateway too); nil for any other URL.
    public static func from(apiURL: String?) -> String? {
        guard let apiURL, let url = JiraURL(apiURL) else { return nil }
        let parts = url.contextPath.split(separator: "/")
        guard parts.count == 3, parts[0] == "ex", parts[1] == "jira", isValid(String(parts[2])) else { return nil }
        return String(parts[2])
    }

    /// Letters, digits and hyphens, at most 64: what goes into a path unescaped.
    public static func isValid(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64
            && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 }
    }
}
