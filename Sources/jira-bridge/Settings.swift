import Foundation
import Integration
import Logging
import Server
import Store

/// A problem a command reports as one line on stderr, with the exit status of its kind (docs/operations.md,
/// "Exit status"); a usage mistake also points to the command's `--help`.
struct StartupError: Error, CustomStringConvertible {
    enum Kind: Sendable {
        /// A mistake in a flag, an argument or an environment variable (64, EX_USAGE).
        case usage
        /// Something the command needs is not there or refuses: the database, the listen address (69, EX_UNAVAILABLE).
        case unavailable
        /// A file or directory cannot be created or written (73, EX_CANTCREAT).
        case cannotWrite
        /// The command ran and what it was asked to do did not happen (1).
        case failed
    }

    let description: String
    var kind: Kind = .usage

    var exitCode: Int32 {
        switch kind {
        case .usage: 64
        case .unavailable: 69
        case .cannotWrite: 73
        case .failed: 1
        }
    }
}

/// Flag, else environment variable, else default; and the data directory's generated files.
struct RuntimeSettings {
    let environment: [String: String]

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    func value(_ flag: String?, _ env: String) -> String? {
        if let flag { return flag }
        if let v = environment[env], !v.isEmpty { return v }
        return nil
    }

    func bool(_ flag: Bool, _ env: String) throws -> Bool {
        if flag { return true }
        guard let v = environment[env], !v.isEmpty else { return false }
        switch v.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw StartupError(description: "\(env) must be true or false, not '\(v)'")
        }
    }

    func port(_ flag: String?) throws -> Int {
        let text = value(flag, "JIRA_BRIDGE_PORT") ?? "8080"
        guard let p = Int(text), (0...65535).contains(p) else {
            throw StartupError(description: "invalid port '\(text)': expected a number from 0 to 65535")
        }
        return p
    }

    func logLevel(_ flag: String?) throws -> Logger.Level {
        let text = value(flag, "JIRA_BRIDGE_LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw StartupError(description: "invalid log level '\(text)': expected one of trace, debug, info, notice, warning, error, critical")
        }
        return level
    }

    func logFormat(_ flag: String?) throws -> LogFormat {
        let text = value(flag, "JIRA_BRIDGE_LOG_FORMAT") ?? "text"
        guard let format = LogFormat(rawValue: text.lowercased()) else {
            throw StartupError(description: "invalid log format '\(text.prefix(40))': expected one of text, logfmt, json")
        }
        return format
    }

    /// A comma-separated list of CIDR blocks or addresses (`--trusted-proxies`, `--outbound-allowlist`).
    func networks(_ flag: String?, _ env: String, what: String) throws -> [IPNetwork] {
        guard let text = value(flag, env) else { return [] }
        return try text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { item in
            guard let network = IPNetwork(item) else {
                throw StartupError(description: "invalid \(what) '\(item)': expected an IP address or a CIDR block such as 10.0.0.0/8")
            }
            return network
        }
    }

    /// A positive number from the environment, or the default.
    func number(_ env: String, default value: Double, minimum: Double = 0, maximum: Double = 1e9) throws -> Double {
        guard let text = environment[env], !text.isEmpty else { return value }
        guard let v = Double(text), v.isFinite, v > minimum || (minimum >= 1 && v == minimum), v <= maximum else {
            throw StartupError(description: "\(env) must be a number from \(minimum) to \(maximum), not '\(text)'")
        }
        return v
    }

    /// A whole number from the environment within `range`, or the default. `0.6` or `1e3` is a mistake, said so,
    /// never rounded to something that stops the queue (0 workers) while readiness says OK.
    func integer(_ env: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = environment[env], !text.isEmpty else { return value }
        guard let v = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
            throw StartupError(description: "\(env) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text.prefix(40))'")
        }
        return v
    }

    /// The header and body deadlines and the connection cap (docs/security.md, "Connections").
    func connections() throws -> ConnectionLimits {
        ConnectionLimits(
            headerTimeout: .milliseconds(Int64(try number("JIRA_BRIDGE_HEADER_TIMEOUT_SECONDS", default: 10, minimum: 0.1, maximum: 3600) * 1000)),
            bodyTimeout: .milliseconds(Int64(try number("JIRA_BRIDGE_BODY_TIMEOUT_SECONDS", default: 30, minimum: 0.1, maximum: 3600) * 1000)),
            maxConnections: try integer("JIRA_BRIDGE_MAX_CONNECTIONS", default: 4096, range: 16...1_000_000))
    }

    /// Days finished work is kept: the flag, else JIRA_BRIDGE_RETENTION_DAYS, else 30; 0 keeps everything.
    func retentionDays(_ flag: String?) throws -> Double {
        guard let text = value(flag, "JIRA_BRIDGE_RETENTION_DAYS"), !text.isEmpty else { return 30 }
        guard let days = Double(text), days.isFinite, days >= 0, days <= 36_500 else {
            throw StartupError(
                description:
                    "invalid retention '\(text.prefix(40))': --retention-days (JIRA_BRIDGE_RETENTION_DAYS) must be a number of days from 0 (keep everything) to 36500"
            )
        }
        return days
    }

    /// The pipeline's tuning knobs (see docs/configuration.md).
    func pipeline() throws -> PipelineConfiguration {
        let policy = RetryPolicy(
            baseDelaySeconds: try number("JIRA_BRIDGE_RETRY_BASE_SECONDS", default: 2),
            maxDelaySeconds: try number("JIRA_BRIDGE_RETRY_MAX_DELAY_SECONDS", default: 3600),
            maxAgeSeconds: try number("JIRA_BRIDGE_RETRY_MAX_AGE_SECONDS", default: 86_400),
            uncertainWriteDelaySeconds: try number("JIRA_BRIDGE_UNCERTAIN_WRITE_DELAY_SECONDS", default: 120))
        var pipeline = PipelineConfiguration(
            retryPolicy: policy,
            concurrency: try integer("JIRA_BRIDGE_WORKER_CONCURRENCY", default: 32, range: 1...1024),
            perSiteLimit: try integer("JIRA_BRIDGE_SITE_CONCURRENCY", default: 4, range: 1...1024),
            deliveryLeaseMillis: Int64(try number("JIRA_BRIDGE_DELIVERY_LEASE_SECONDS", default: 15, minimum: 1, maximum: 86_400) * 1000))
        // On unless JIRA_BRIDGE_CATCH_UP_ON_START says false.
        if let text = environment["JIRA_BRIDGE_CATCH_UP_ON_START"], !text.isEmpty {
            pipeline.catchUpOnStart = try bool(false, "JIRA_BRIDGE_CATCH_UP_ON_START")
        }
        return pipeline
    }

    /// Creates the data directory (mode 0700) if needed.
    func prepareDataDirectory(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw StartupError(description: "data directory '\(path)' exists and is not a directory", kind: .cannotWrite)
            }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StartupError(description: "cannot create data directory '\(path)': \(error.localizedDescription)", kind: .cannotWrite)
        }
    }

    /// The value of `env`, else the content of `file`, else a new value written to `file` with mode 0600.
    /// An existing file is never overwritten.
    func secretFile(env: String, file: String, generate: () -> String) throws -> (value: String, generated: Bool) {
        if let v = environment[env], !v.isEmpty { return (v, false) }
        if let existing = try? String(contentsOfFile: file, encoding: .utf8) {
            let trimmed = existing.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw StartupError(description: "\(file) is empty; remove it to generate a new one", kind: .unavailable) }
            return (trimmed, false)
        }
        let value = generate()
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw StartupError(description: "cannot create \(file): \(String(cString: strerror(errno)))", kind: .cannotWrite) }
        defer { close(fd) }
        let bytes = Array((value + "\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else {
            throw StartupError(description: "cannot write \(file): \(String(cString: strerror(errno)))", kind: .cannotWrite)
        }
        return (value, true)
    }

    /// Opens the database named by the database URL (`DatabaseURL`: one clear line for each mistake, never the
    /// password). A PostgreSQL server is asked to answer before anything else starts.
    func openDatabase(databaseURL: String) async throws -> any SQLDatabase {
        let parsed: DatabaseURL
        do { parsed = try DatabaseURL.parse(databaseURL) } catch { throw StartupError(description: "\(error)") }
        switch parsed {
        case .sqlite(let path):
            do {
                return try SQLiteDatabase(path: path)
            } catch {
                throw StartupError(description: "cannot open SQLite database '\(path)': \(error)", kind: .unavailable)
            }
        case .postgres(let settings):
            do {
                return try await PostgreSQLDatabase.open(settings)
            } catch {
                throw StartupError(description: "\(error)", kind: .unavailable)
            }
        }
    }

    /// The data directory, secret key and store, shared by `serve`, `migrate` and the commands that work on a
    /// server's data. With `existing`, nothing is created: a SQLite database and the secret key must be there
    /// already (the operator's commands never leave a stray database behind a mistyped `--data-dir`).
    func openData(
        dataDirFlag: String?, databaseURLFlag: String?, existing: Bool = false
    ) async throws
        -> (dataDir: String, store: SQLStore, secretKey: String, keyGenerated: Bool)
    {
        let dataDir = value(dataDirFlag, "JIRA_BRIDGE_DATA_DIR") ?? "./data"
        let databaseURL = value(databaseURLFlag, "JIRA_BRIDGE_DATABASE_URL") ?? "sqlite:\(dataDir)/jira-bridge.sqlite"
        if existing {
            if case .sqlite(let path)? = try? DatabaseURL.parse(databaseURL), !FileManager.default.fileExists(atPath: path) {
                throw StartupError(
                    description:
                        "there is no database at \(path): start jira-bridge serve once, or name the server's data with --data-dir or --database-url")
            }
        }
        // Everything that can be checked without touching the disk is checked first.
        if let envKey = environment["JIRA_BRIDGE_SECRET_KEY"], !envKey.isEmpty, SecretBox(base64Key: envKey) == nil {
            throw StartupError(description: "JIRA_BRIDGE_SECRET_KEY must be the base64 text of 32 bytes")
        }
        // A database server is asked to answer (and a bad URL refused) before the data directory is touched.
        let remote: (any SQLDatabase)? = databaseURL.hasPrefix("sqlite:") ? nil : try await openDatabase(databaseURL: databaseURL)
        if existing, environment["JIRA_BRIDGE_SECRET_KEY"].map({ $0.isEmpty }) ?? true,
            !FileManager.default.fileExists(atPath: "\(dataDir)/secret-key")
        {
            await remote?.close()
            throw StartupError(
                description:
                    "there is no secret key at \(dataDir)/secret-key: set JIRA_BRIDGE_SECRET_KEY as for the server, or name its data directory with --data-dir"
            )
        }
        try prepareDataDirectory(dataDir)
        let key = try secretFile(env: "JIRA_BRIDGE_SECRET_KEY", file: "\(dataDir)/secret-key", generate: SecretBox.generateKey)
        guard let box = SecretBox(base64Key: key.value) else {
            throw StartupError(description: "JIRA_BRIDGE_SECRET_KEY (or \(dataDir)/secret-key) must be the base64 text of 32 bytes")
        }
        let database: any SQLDatabase
        if let remote { database = remote } else { database = try await openDatabase(databaseURL: databaseURL) }
        let store = SQLStore(database: database, secrets: box)
        return (dataDir, store, key.value, key.generated)
    }
}
