import ArgumentParser
import Foundation
import Server
import Store

/// `jira-bridge backfill`: sends a project's recent history (the last 400 merge or pull requests and 400
/// branches) to Jira's Development panel, as the API's `POST .../integrations/jira/backfill` does.
struct BackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "Send a project's last 400 merge requests and 400 branches to Jira's Development panel.",
        discussion: """
            Queues the backfill on the server's data; a running server sends it, one page of the forge's list at a \
            time, and resumes it after a restart. It needs the Development panel's OAuth credentials and a forge API \
            token (docs/forges.md). With --status, prints how the latest backfill stands instead.
            """)
    @Option(help: "The project: its id, full path, or forge:id (as in the API).") var project: String
    @Flag(help: "Print the latest backfill's state, start nothing.") var status = false
    @OptionGroup var data: DataOptions

    func run() async throws {
        try await JiraBridgeCommand.reportingStartupErrors {
            let (name, state) = try await DataOptions.withStore(data) {
                try await BackfillService(store: $0).command(project: project, start: !status)
            }
            print(state.line("backfill of \(name)"))
        }
    }
}
