import ArgumentParser
import Foundation
import Integration
import Server
import Store

/// `jira-bridge deliveries`: the delivery log for operators without a browser, on the server's own data
/// (SQLite while the server runs, or PostgreSQL), with the API's rules.
struct DeliveriesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries", abstract: "List and retry a project's Jira deliveries.", subcommands: [List.self, Retry.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a project's deliveries, newest first: a table, or with --json the API's JSON.",
            discussion: """
                With --wait, first waits until the project has no pending or running delivery and no webhook event \
                left to plan (at most --timeout seconds; exit status 1 if work is still unfinished then).
                """)
        @Option(help: "The project: its id, full path, or forge:id (as in the API).") var project: String
        @Option(help: "Only deliveries in this status: pending, running, succeeded, skipped, failed, dead or paused.") var status: String?
        @Option(help: "Only deliveries to this Jira issue (PROJ-1).") var issue: String?
        @Option(parsing: .unconditional, help: "At most this many rows (1 to 1000).") var limit = 50
        @Flag(help: "Print the deliveries as a JSON array, as GET .../integrations/jira/deliveries does.") var json = false
        @Flag(help: "Wait until the project's work is done before printing.") var wait = false
        @Option(parsing: .unconditional, help: "How long --wait waits, in seconds.") var timeout: Double = 60
        @OptionGroup var data: DataOptions

        func validate() throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
            guard timeout.isFinite, timeout >= 0, timeout <= 86_400 else { throw ValidationError("--timeout must be from 0 to 86400 seconds") }
        }

        func run() async throws {
            try await JiraBridgeCommand.reportingStartupErrors {
                let (listing, waited) = try await DataOptions.withStore(data) { store in
                    let log = DeliveryOperator(store: store)
                    var unfinished = 0
                    if wait {
                        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
                        while true {
                            unfinished = try await log.unfinished(project: project)
                            if unfinished == 0 || ContinuousClock.now >= deadline { break }
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                    return (try await log.list(project: project, status: status, issue: issue, limit: limit), unfinished)
                }
                if json {
                    print(listing.json)
                } else {
                    print(Self.table(listing))
                }
                if wait && waited > 0 {
                    throw StartupError(
                        description: "\(waited) deliveries or events of \(listing.project) were still unfinished after \(timeout.parameterText) s",
                        kind: .failed)
                }
            }
        }

        static func table(_ listing: DeliveryOperator.Listing) -> String {
            var rows = [["ID", "STATUS", "ACTION", "ISSUE", "ATTEMPTS", "UPDATED", "SOURCE OR ERROR"]]
            for d in listing.items {
                let label = d.status == .succeeded ? "answer: " : "error: "
                let detail = d.lastError.map { label + $0.prefix(160).replacingOccurrences(of: "\n", with: " ") } ?? d.sourceURL ?? ""
                let updated = Date(timeIntervalSince1970: Double(d.updatedAt) / 1000).formatted(.iso8601)
                rows.append(["\(d.id)", d.status.rawValue, d.action.rawValue, d.issueKey, "\(d.attempts)", updated, detail])
            }
            var lines = TextTable.lines(rows)
            lines.append("\(listing.items.count) of \(listing.total) deliveries of \(listing.project); \(listing.unfinished) unfinished")
            return lines.joined(separator: "\n")
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Requeue failed, dead or paused deliveries of a project: by id, or every failed or dead one with --all-failed.",
            discussion: "A running server picks them up at once; each runs again after a fresh read of Jira, so nothing is posted twice.")
        @Option(help: "The project: its id, full path, or forge:id (as in the API).") var project: String
        @Argument(help: "Ids of deliveries to retry (deliveries list shows them).") var ids: [Int64] = []
        @Flag(name: .customLong("all-failed"), help: "Retry every failed or dead delivery of the project.") var allFailed = false
        @OptionGroup var data: DataOptions

        func validate() throws {
            if ids.isEmpty == !allFailed { throw ValidationError("name delivery ids or --all-failed (not both)") }
            if ids.count > 1000 { throw ValidationError("at most 1000 ids at once; use --all-failed for more") }
        }

        func run() async throws {
            try await JiraBridgeCommand.reportingStartupErrors {
                if allFailed {
                    let count = try await DataOptions.withStore(data) { try await DeliveryOperator(store: $0).retryAllFailed(project: project) }
                    print("requeued \(count) failed or dead deliveries")
                    return
                }
                let results = try await DataOptions.withStore(data) { try await DeliveryOperator(store: $0).retry(project: project, ids: ids) }
                var refused: [String] = []
                for r in results {
                    if r.requeued { print("delivery \(r.id) requeued") } else { refused.append(r.reason ?? "delivery \(r.id) not requeued") }
                }
                if !refused.isEmpty { throw StartupError(description: refused.joined(separator: "; "), kind: .failed) }
            }
        }
    }
}
