import ArgumentParser
import Foundation
import Hummingbird
import JiraEmulator
import Logging

@main
struct EmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jira-emulator",
        abstract: "A stateful fake Jira (Server or Cloud) for trying and testing jira-bridge.")

    @Option(help: "Listen address.") var host = "127.0.0.1"
    @Option(help: "Listen port, 0 for any free port.") var port = 9000
    @Option(help: "server or cloud.") var deployment = "server"
    @Option(name: .customLong("context-path"), help: "Serve Jira under this path, e.g. /jira.") var contextPath = ""
    @Option(name: .customLong("record-file"), help: "Append every REST request to this JSON Lines file.") var recordFile: String?
    @Flag(help: "Create a project PROJ with a few issues.") var seed = false

    func run() async throws {
        guard let kind = EmulatedDeployment(rawValue: deployment) else {
            FileHandle.standardError.write(Data("jira-emulator: error: --deployment must be server or cloud\n".utf8))
            throw ExitCode(2)
        }
        if !contextPath.isEmpty && (!contextPath.hasPrefix("/") || contextPath.hasSuffix("/")) {
            FileHandle.standardError.write(Data("jira-emulator: error: --context-path must start with / and not end with /\n".utf8))
            throw ExitCode(2)
        }
        let state = EmulatorState(deployment: kind, recordFile: recordFile.map { URL(fileURLWithPath: $0) })
        if seed {
            await state.addProject(key: "PROJ", name: "Demo project")
            await state.addIssue(projectKey: "PROJ", summary: "Login fails with SSO", description: "Users see an error page.", labels: ["backend"])
            await state.addIssue(projectKey: "PROJ", summary: "Add dark mode", labels: ["ui"], statusName: "In Progress")
            await state.addIssue(projectKey: "PROJ", summary: "Crash on empty input", statusName: "Done")
        }
        var logger = Logger(label: "jira-emulator")
        logger.logLevel = .info
        let log = logger
        let users = await state.users
        let app = JiraEmulator.buildApplication(
            state: state, configuration: .init(deployment: kind, contextPath: contextPath), host: host, port: port, logger: logger
        ) { port in
            log.notice("jira-emulator (\(kind.rawValue)) listening on http://\(host):\(port)\(contextPath)")
            for u in users {
                if let token = u.serviceAccountToken {
                    guard kind == .cloud else { continue }
                    log.notice(
                        "service account (Bearer, through the gateway only)",
                        metadata: [
                            "email": "\(u.email)", "token": "\(token)", "api_url": "http://\(host):\(port)\(contextPath)/ex/jira/\(state.cloudID)",
                        ])
                    continue
                }
                log.notice(
                    "user",
                    metadata: ["username": "\(u.name)", "email": "\(u.email)", "password": "\(u.password)", "pat": "\(u.personalAccessToken ?? "-")"])
            }
        }
        try await app.runService()
    }
}
