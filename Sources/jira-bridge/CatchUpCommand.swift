import ArgumentParser
import Foundation
import Server
import Store

/// `jira-bridge catch-up`: takes in what the forge saw while jira-bridge was down, as the API's
/// `POST .../integrations/jira/catch_up` does.
struct CatchUpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catch-up",
        abstract: "Take in the webhooks a project's forge sent while jira-bridge was down.",
        discussion: """
            Queues the catch-up on the server's data; a running server reads the forge's record (GitHub's webhook \
            deliveries, GitLab's hook events, Gitea's commits and pull requests since the last event) and takes in \
            what it missed, each event once. It needs a forge API token, and on GitHub and GitLab the project's \
            forge_hook_id (docs/forges.md). The server also queues one by itself at start. With --status, prints \
            how the latest catch-up stands instead.
            """)
    @Option(help: "The project: its id, full path, or forge:id (as in the API).") var project: String
    @Flag(help: "Print the latest catch-up's state, start nothing.") var status = false
    @OptionGroup var data: DataOptions

    func run() async throws {
        try await JiraBridgeCommand.reportingStartupErrors {
            let (name, state) = try await DataOptions.withStore(data) {
                try await CatchUpService(store: $0).command(project: project, start: !status)
            }
            print(state.line("catch-up of \(name)"))
        }
    }
}
