import Foundation

/// What `--database-url` names: an SQLite file, or a PostgreSQL server. Parsed in one place, so every bad
/// URL gets one clear line (without its password) before anything else starts.
public enum DatabaseURL: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresSettings)

    /// `sqlite:PATH` (or `sqlite://PATH`), `postgres://` or `postgresql://user:password@host:port/database?sslmode=...&pool_size=...`.
    public static func parse(_ text: String) throws(StoreError) -> DatabaseURL {
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard !path.isEmpty else { throw .badDatabaseURL("'\(text)': expected sqlite:PATH") }
            return .sqlite(path: path)
        }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            return .postgres(try PostgresSettings(url: text))
        }
        throw .badDatabaseURL("'\(PostgresSettings.redacted(text))': expected sqlite:PATH or postgres://user:password@host:port/database")
    }
}

/// A PostgreSQL connection as a URL gives it (libpq's URL form, the parameters jira-bridge reads).
public struct PostgresSettings: Sendable, Equatable {
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, plain otherwise (libpq's default).
        case prefer
        /// TLS or no connection (the server's certificate is verified against the system's roots).
        case require
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// Connections per process (`pool_size`, 1 to 100, default 10).
    public var poolSize: Int

    public static let defaultPort = 5432
    public static let defaultPoolSize = 10

    public init(url text: String) throws(StoreError) {
        let shown = Self.redacted(text)
        guard let scheme = text.range(of: "://") else { throw .badDatabaseURL("'\(shown)': expected postgres://") }
        var rest = String(text[scheme.upperBound...])
        var query = ""
        if let q = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: q)...])
            rest = String(rest[..<q])
        }
        var database = ""
        if let slash = rest.firstIndex(of: "/") {
            database = String(rest[rest.index(after: slash)...])
            rest = String(rest[..<slash])
        }
        var userinfo = ""
        if let at = rest.lastIndex(of: "@") {
            userinfo = String(rest[..<at])
            rest = String(rest[rest.index(after: at)...])
        }
        // host, host:port, [v6], [v6]:port
        var host = rest
        var portText: String?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .badDatabaseURL("'\(shown)': an IPv6 host needs its closing ]") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                portText = String(after.dropFirst())
            } else if !after.isEmpty {
                throw .badDatabaseURL("'\(shown)': unexpected text after the host")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            portText = String(rest[rest.index(after: colon)...])
        }
        guard !host.isEmpty else { throw .badDatabaseURL("'\(shown)': the host is missing") }
        self.host = host.removingPercentEncoding ?? host
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw .badDatabaseURL("'\(shown)': the port must be a number from 1 to 65535")
            }
            self.port = port
        } else {
            port = Self.defaultPort
        }
        var user = userinfo
        var password: String? = nil
        if let colon = userinfo.firstIndex(of: ":") {
            user = String(userinfo[..<colon])
            password = String(userinfo[userinfo.index(after: colon)...]).removingPercentEncoding
        }
        guard let decodedUser = user.removingPercentEncoding, !decodedUser.isEmpty else {
            throw .badDatabaseURL("'\(shown)': the user is missing (postgres://user:password@host/database)")
        }
        self.user = decodedUser
        self.password = password
        guard let decodedDatabase = database.removingPercentEncoding else { throw .badDatabaseURL("'\(shown)': the database name is not valid") }
        // libpq's default: the database named like the user.
        self.database = decodedDatabase.isEmpty ? decodedUser : decodedDatabase
        sslMode = .prefer
        poolSize = Self.defaultPoolSize
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts[0]
            let value = parts.count > 1 ? (parts[1].removingPercentEncoding ?? parts[1]) : ""
            switch name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw .badDatabaseURL("'\(shown)': sslmode must be disable, prefer or require (not \(value))")
                }
                sslMode = mode
            case "pool_size":
                guard let size = Int(value), (1...100).contains(size) else {
                    throw .badDatabaseURL("'\(shown)': pool_size must be a number from 1 to 100")
                }
                poolSize = size
            default:
                throw .badDatabaseURL("'\(shown)': unknown parameter \(name) (known: sslmode, pool_size)")
            }
        }
    }

    /// A database URL without its password, for messages and logs.
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let afterScheme = url[scheme.upperBound...]
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" } ?? afterScheme.endIndex
        guard let at = afterScheme[..<authorityEnd].lastIndex(of: "@") else { return url }
        let userinfo = afterScheme[..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    /// The URL for messages: never the password.
    public var description: String { "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?sslmode=\(sslMode.rawValue)" }
}
