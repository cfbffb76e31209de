import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

/// `jira-bridge healthcheck`: asks a running server's `/-/readiness` and exits 0 when it is ready, 1 when it
/// answers anything else or nothing in time. The container image's `HEALTHCHECK` runs it (the image has no curl),
/// and so can any supervisor.
struct Healthcheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running server whether it is ready (GET /-/readiness); exit 0 if it is, 1 if not.",
        discussion: """
            Without --url it asks http://127.0.0.1:PORT/-/readiness, PORT being JIRA_BRIDGE_PORT (8080 when unset), as
            the container image's HEALTHCHECK does. Prints the answer's status and body (at most 1 KB).
            """)

    @Option(help: "The readiness address to ask (http only, loopback or not).") var url: String?
    @Option(help: "Seconds to wait for the answer (0.1 to 60).") var timeout: Double = 5

    func validate() throws {
        guard timeout.isFinite, timeout >= 0.1, timeout <= 60 else { throw ValidationError("--timeout must be from 0.1 to 60 seconds") }
        if let url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ValidationError("--url must be an http(s) URL, not '\(url.prefix(80))'")
        }
    }

    func run() async throws {
        let port = ProcessInfo.processInfo.environment["JIRA_BRIDGE_PORT"].flatMap { Int($0) } ?? 8080
        let target = url ?? "http://127.0.0.1:\(port)/-/readiness"
        let request = HTTPClientRequest(url: target)
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            let body = try await response.body.collect(upTo: 1024)
            print("\(response.status.code) \(String(buffer: body))")
            if response.status.code != 200 { throw ExitCode.failure }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw StartupError(description: "\(target) did not answer: \(error)", kind: .failed)
        }
    }
}
