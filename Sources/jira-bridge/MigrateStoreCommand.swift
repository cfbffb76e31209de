import ArgumentParser
import Foundation
import Store

/// `jira-bridge migrate-store`: moves a store from SQLite to PostgreSQL (or between any two databases).
struct MigrateStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-store",
        abstract: "Copy everything from one database to another, empty one (SQLite to PostgreSQL).",
        discussion: """
            Stop every jira-bridge process on the source first. Projects, groups, tokens, sessions, settings \
            (still encrypted), events, deliveries and vulnerabilities are copied as stored: the processes on the \
            target need the same secret key (JIRA_BRIDGE_SECRET_KEY or DATA_DIR/secret-key). The target is \
            migrated first and must hold no data. Prints the rows copied per table.
            """)

    @Option(name: .customLong("from"), help: "The source database URL (sqlite:PATH or postgres://...).") var from: String
    @Option(name: .customLong("to"), help: "The target database URL (postgres://... or sqlite:PATH).") var to: String

    func run() async throws {
        try await JiraBridgeCommand.reportingStartupErrors {
            let runtime = RuntimeSettings()
            if case .sqlite(let path) = try parse(from), !FileManager.default.fileExists(atPath: path) {
                throw StartupError(description: "the source database \(path) does not exist")
            }
            if try parse(from) == parse(to) { throw StartupError(description: "--from and --to name the same database") }
            // A server writing to the source while it is copied would make the copy a mix of two moments.
            var lock: Int32? = nil
            if case .sqlite(let path) = try parse(from) {
                do { lock = try SQLStore.holdServingLock(sqlitePath: path) } catch { throw StartupError(description: "\(error)") }
            }
            defer { if let lock { SQLStore.releaseServingLock(lock) } }
            let source = try await runtime.openDatabase(databaseURL: from)
            if let server = try await source.whileRunning({ await StoreCopy.liveServer(source, now: Int64(Date().timeIntervalSince1970 * 1000)) }) {
                await source.close()
                throw StartupError(description: "a jira-bridge process is serving the source (\(server)): stop every process on it first")
            }
            let target: any SQLDatabase
            do { target = try await runtime.openDatabase(databaseURL: to) } catch {
                await source.close()
                throw error
            }
            let outcome: Result<(StoreCopy.Report, [(table: String, rows: Int)], [(table: String, rows: Int)]), any Error>
            do {
                outcome = .success(
                    try await source.whileRunning {
                        try await target.whileRunning {
                            let report = try await StoreCopy.copy(from: source, to: target)
                            return (report, try await StoreCopy.counts(target), try await StoreCopy.counts(source))
                        }
                    })
            } catch {
                outcome = .failure(error)
            }
            await source.close()
            await target.close()
            let (report, copied, original): (StoreCopy.Report, [(table: String, rows: Int)], [(table: String, rows: Int)])
            switch outcome {
            case .success(let values): (report, copied, original) = values
            case .failure(let error as StoreError): throw StartupError(description: "\(error)")
            case .failure(let error): throw error
            }
            guard copied.map(\.rows) == original.map(\.rows) else {
                throw StartupError(
                    description: "the copy does not match the source: \(copied) against \(original); was a process still writing to it?")
            }
            for (table, rows) in report.counts { print("\(table): \(rows)") }
            print(
                "copied \(report.counts.map(\.rows).reduce(0, +)) rows; start jira-bridge with --database-url set to the target and the same secret key"
            )
        }
    }

    func parse(_ url: String) throws -> DatabaseURL {
        do { return try DatabaseURL.parse(url) } catch { throw StartupError(description: "\(error)") }
    }
}
