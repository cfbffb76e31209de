import AsyncHTTPClient
import Foundation
import Integration
import NIOCore
import Server
import Store
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to the server, for clients no HTTP library would be: ones that stop halfway.
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// A slow client: sends `pieces` one at a time, `every` apart, until they run out or the task is cancelled.
    /// The pace is the client's behaviour under test (the server's deadlines are real), not a wait for a state.
    func trickle(_ pieces: [[UInt8]], every: Duration) async {
        for piece in pieces {
            if Task.isCancelled { return }
            send(piece)
            try? await Task.sleep(for: every)
        }
    }

    /// Sends everything; false when the connection failed first (a reset, say).
    func sendAll(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Waits (in a blocking read on another thread) until the server closes the connection or `limit` passes;
    /// returns what the server sent, and whether it closed.
    func readUntilClosed(limit: Duration) async -> (text: String, closed: Bool) {
        let fd = self.fd
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var timeout = timeval(tv_sec: Int(limit.components.seconds), tv_usec: Int(limit.components.attoseconds / 1_000_000_000_000))
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = recv(fd, &buffer, buffer.count, 0)
                    if n > 0 { received += buffer[..<n]; continue }
                    // 0: closed by the server; an error: ECONNRESET (closed with unread bytes) or the timeout.
                    let closed = n == 0 || errno == ECONNRESET
                    continuation.resume(returning: (String(decoding: received, as: UTF8.self), closed))
                    return
                }
            }
        }
    }
}

extension Harness {
    var port: Int { Int(bridgeURL.split(separator: ":").last!)! }
}

@Suite("Intake defenses")
struct IntakeDefenseTests {
    static func options(_ limits: ConnectionLimits) -> Harness.Options {
        var o = Harness.Options()
        o.connections = limits
        return o
    }

    @Test("with the default settings a client that never finishes its headers is cut off after 10 s")
    func defaultHeaderTimeout() async throws {
        try await Harness.runLive { h in
            let c = try RawConnection(port: h.port)
            c.send("POST /webhooks/gitlab HTTP/1.1\r\nHost: x\r\nX-Gitlab-Tok")
            let started = ContinuousClock.now
            let (_, closed) = await c.readUntilClosed(limit: .seconds(30))
            #expect(closed)
            #expect(ContinuousClock.now - started >= .seconds(9))
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test("a kept-alive connection gets the header deadline again after each answer; a trickled header is cut off as a silent one")
    func trickledHeaders() async throws {
        try await Harness.runLive(Self.options(ConnectionLimits(headerTimeout: .milliseconds(600), bodyTimeout: .seconds(2)))) { h in
            let c = try RawConnection(port: h.port)
            // A byte every 200 ms: never idle for long, never finished.
            let trickle = Task {
                await c.trickle(
                    "GET /-/health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8.map { [$0] }, every: .milliseconds(200))
            }
            let (_, closed) = await c.readUntilClosed(limit: .seconds(10))
            trickle.cancel()
            #expect(closed)
            let metrics = try await h.request(.GET, "/metrics")
            #expect(metrics.text.contains("jira_bridge_connection_timeouts_total{phase=\"headers\"} 1"), "\(metrics.text.prefix(200))")
        }
    }

    @Test("a body trickled a byte at a time is cut off by the body deadline")
    func trickledBody() async throws {
        try await Harness.runLive(Self.options(ConnectionLimits(headerTimeout: .seconds(5), bodyTimeout: .milliseconds(800)))) { h in
            try await h.configure()
            let c = try RawConnection(port: h.port)
            c.send(
                "POST /webhooks/gitlab HTTP/1.1\r\nHost: x\r\nX-Gitlab-Event: Push Hook\r\nX-Gitlab-Token: instance-hook-secret\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            let trickle = Task { await c.trickle(Array(repeating: Array("1\r\n \r\n".utf8), count: 100), every: .milliseconds(100)) }
            let (_, closed) = await c.readUntilClosed(limit: .seconds(10))
            trickle.cancel()
            #expect(closed)
            let metrics = try await h.request(.GET, "/metrics")
            #expect(metrics.text.contains("jira_bridge_connection_timeouts_total{phase=\"body\"} 1"))
            #expect(
                metrics.text.contains("jira_bridge_webhooks_total{forge=\"gitlab\",outcome=\"timed_out\"} 1"),
                "a client that gave up is not too_large")
        }
    }

    @Test("idle half-sent connections, sockets announcing 25 MB and unsigned floods on GitHub and Gitea leave GitLab's intake free")
    func noAnonymousHold() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            // 200 connections that never finish their headers.
            var idle: [RawConnection] = []
            for _ in 0..<200 {
                let c = try RawConnection(port: h.port)
                c.send("POST /webhooks/gitlab HTTP/1.1\r\nHost: x\r\n")
                idle.append(c)
            }
            // 3 per signed forge that announce 25 MB, send the headers only and wait.
            var holders: [RawConnection] = []
            for _ in 0..<3 {
                let g = try RawConnection(port: h.port)
                g.send(
                    "POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=00\r\nContent-Length: 25000000\r\n\r\n"
                )
                let t = try RawConnection(port: h.port)
                t.send(
                    "POST /webhooks/gitea HTTP/1.1\r\nHost: x\r\nX-Gitea-Event: push\r\nX-Gitea-Signature: 00\r\nTransfer-Encoding: chunked\r\n\r\n")
                holders += [g, t]
            }
            // 20 chunked unsigned bodies of 24 MB sent as fast as the server takes them (on threads of their own:
            // a blocking send must not hold the test's cooperative threads).
            let port = h.port
            let stop = Mutex(false)
            for _ in 0..<20 {
                Thread.detachNewThread {
                    guard let c = try? RawConnection(port: port) else { return }
                    c.send(
                        "POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=00\r\nTransfer-Encoding: chunked\r\n\r\n"
                    )
                    let chunk = Array(("100000\r\n" + String(repeating: "a", count: 0x100000) + "\r\n").utf8)
                    for _ in 0..<24 where !stop.withLock({ $0 }) { c.send(chunk) }
                }
            }
            // A valid GitLab push is taken at once (it would wait for ever behind the holders before).
            var ok = 0
            for i in 0..<5 {
                let r = try await h.webhook("Push Hook", Payloads.push(commits: [(String(format: "%040x", i + 1), "PROJ-1 change")]))
                if r.status == 202 { ok += 1 }
            }
            #expect(ok == 5)
            stop.withLock { $0 = true }
            // Unsigned bodies over 1 MB are refused (asked directly: the flooders' own answers race the test).
            let unsigned = try await h.request(
                .POST, "/webhooks/github", raw: String(repeating: "a", count: (1 << 20) + 100_000),
                headers: [("X-GitHub-Event", "push"), ("X-Hub-Signature-256", "sha256=00")])
            #expect(unsigned.status == 413 && unsigned.text.contains("limited to 1 MB"))
            _ = (idle, holders)
        }
    }

    @Test(
        "a GitHub hook that names a registered repository with a secret may send 25 MB; one that names a repository with no secret is refused before its body"
    )
    func githubTargetHeaders() async throws {
        try await Harness.runLive(Self.optionsWithoutInstanceSecret()) { h in
            try await h.configureRepository(forge: "github", id: 7, path: "octo/app", webURL: "https://github.com/octo/app", secret: "gh-secret")
            let bare = try await h.admin(
                .POST, "/api/v4/projects",
                json: [
                    "forge": "github", "id": 8, "path_with_namespace": "octo/bare",
                    "web_url": "https://github.com/octo/bare",
                ])
            #expect(bare.status == 201)
            // 2 MB of padding in a real push: over the unidentified limit, within the registered one.
            var doc = ForgePayloads.load("github", "push")
            ForgePayloads.retarget(&doc, (7, "octo/app"))
            doc["padding"] = String(repeating: "x", count: 2 << 20)
            let body = ForgePayloads.text(doc)
            let signature = "sha256=" + TokenSecret.signature(of: Data(body.utf8), secret: "gh-secret")
            func send(target: Int?) async throws -> TestResponse {
                var headers = [("X-GitHub-Event", "push"), ("Content-Type", "application/json"), ("X-Hub-Signature-256", signature)]
                if let target {
                    headers += [("X-GitHub-Hook-Installation-Target-Type", "repository"), ("X-GitHub-Hook-Installation-Target-ID", "\(target)")]
                }
                return try await h.request(.POST, "/webhooks/github", raw: body, headers: headers)
            }
            let identified = try await send(target: 7)
            #expect(identified.status == 202, "\(identified.text)")
            let unidentified = try await send(target: nil)
            #expect(unidentified.status == 413)
            #expect(unidentified.text.contains("limited to 1 MB"), "\(unidentified.text)")
            let noSecret = try await send(target: 8)
            #expect(noSecret.status == 401)
        }
    }

    @Test("a flood of 24 MB bodies signed wrongly but naming a registered repository uses GitHub's budget only: GitLab's intake stays free")
    func signedFloodIsFair() async throws {
        try await Harness.runLive { h in
            try await h.configure()
            try await h.configureRepository(forge: "github", id: 7, path: "octo/app", webURL: "https://github.com/octo/app", secret: "gh-secret")
            let port = h.port
            let stop = Mutex(false)
            let finished = Mutex(0)
            // 12 senders, each body allowed 25 MB by its headers (a registered repository with a secret): together
            // 288 MB, far more than GitHub's 50 MB budget, so most of them wait for it.
            for _ in 0..<12 {
                Thread.detachNewThread {
                    defer { finished.withLock { $0 += 1 } }
                    guard let c = try? RawConnection(port: port) else { return }
                    c.send(
                        "POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=00\r\n"
                            + "X-GitHub-Hook-Installation-Target-Type: repository\r\nX-GitHub-Hook-Installation-Target-ID: 7\r\n"
                            + "Transfer-Encoding: chunked\r\n\r\n")
                    let chunk = Array(("100000\r\n" + String(repeating: "a", count: 0x100000) + "\r\n").utf8)
                    for _ in 0..<24 where !stop.withLock({ $0 }) { c.send(chunk) }
                    c.send("0\r\n\r\n")
                }
            }
            var ok = 0
            for i in 0..<5 {
                let r = try await h.webhook("Push Hook", Payloads.push(commits: [(String(format: "%040x", i + 1), "PROJ-1 change")]))
                if r.status == 202 { ok += 1 }
            }
            #expect(ok == 5, "GitLab's budget is its own")
            stop.withLock { $0 = true }
        }
    }

    @Test("a refusal before the body is read reaches a client that goes on sending the body: the connection lingers, then closes")
    func lingeringClose() async throws {
        try await Harness.runLive { h in
            let c = try RawConnection(port: h.port)
            let body = [UInt8](repeating: 0x20, count: 20 << 20)
            c.send(
                "POST /webhooks/gitlab HTTP/1.1\r\nHost: x\r\nX-Gitlab-Event: Push Hook\r\nX-Gitlab-Token: wrong\r\nContent-Length: \(body.count)\r\n\r\n"
            )
            // The whole body goes out, as a proxy in front forwards it (a blocking send: on a thread of its own).
            let sent = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
                Thread.detachNewThread { done.resume(returning: c.sendAll(body)) }
            }
            #expect(sent, "the rest is read and discarded, not answered with a reset")
            let answer = await c.readUntilClosed(limit: .seconds(10))
            #expect(answer.text.hasPrefix("HTTP/1.1 401") && answer.text.lowercased().contains("connection: close"), "\(answer.text.prefix(200))")
            #expect(answer.closed)
        }
    }

    static func optionsWithoutInstanceSecret() -> Harness.Options {
        var o = Harness.Options()
        o.webhookSecret = nil
        return o
    }
}

@Suite("Project fields")
struct ProjectFieldTests {
    @Test(
        "PUT refuses a web_url that is not an absolute http(s) URL, as POST and webhooks do, and one with a password",
        arguments: ["javascript:alert(1)", "data:text/html,x", "//evil.example/x", "/relative", "https://user:pass@gitlab.example.com/a"])
    func webURLOnUpdate(_ url: String) async throws {
        try await Harness.runLive { h in
            try await h.registerProject()
            let r = try await h.admin(.PUT, "/api/v4/projects/42", json: ["web_url": .string(url)])
            #expect(r.status == 400, "\(r.text)")
            #expect(try await h.store.project(id: 42)?.webURL == "https://gitlab.example.com/acme/web/shop")
        }
    }

    @Test("a Jira URL with a user name and password is refused: reporters read the URL")
    func jiraURLWithPassword() async throws {
        try await Harness.runLive { h in
            try await h.registerProject()
            let r = try await h.admin(
                .PUT, "/api/v4/projects/42/integrations/jira",
                json: h.workingSettings(["url": "https://bot:hunter2@jira.example.com"]))
            #expect(r.status == 400)
            #expect(!r.text.contains("hunter2"))
            #expect(r.json["message"]?["url"]?.array?.first?.string?.contains("must not contain a user name or password") == true, "\(r.text)")
        }
    }

    @Test("a project name longer than 255 characters is refused through the API and cut from a webhook")
    func longNames() async throws {
        try await Harness.runLive { h in
            let long = String(repeating: "n", count: 300)
            let r = try await h.admin(.POST, "/api/v4/projects", json: ["id": 7, "path_with_namespace": "a/b", "name": .string(long)])
            #expect(r.status == 400)
            try await h.registerProject()
            #expect(try await h.admin(.PUT, "/api/v4/projects/42", json: ["name": .string(long)]).status == 400)
        }
    }
}

@Suite("Low-severity findings")
struct LowFindingTests {
    @Test("an id above 2^53 is refused, not rounded", arguments: [9_007_199_254_740_993.0, 9_007_199_254_740_992.0])
    func hugeIDs(_ id: Double) async throws {
        try await Harness.runLive { h in
            let r = try await h.admin(.POST, "/api/v4/projects", json: ["id": .number(id), "path_with_namespace": "a/b"])
            #expect(r.status == 400, "\(r.text)")
        }
    }

    @Test("expires_at of a day that does not exist is refused, not moved to the next month", arguments: ["2027-02-30", "2027-04-31", "2027-13-01"])
    func impossibleDates(_ date: String) async throws {
        try await Harness.runLive { h in
            let r = try await h.admin(
                .POST, "/api/v4/tokens", json: ["name": "t", "role": "reporter", "scope": "instance", "expires_at": .string(date)])
            #expect(r.status == 400, "\(r.text)")
            let leap = try await h.admin(
                .POST, "/api/v4/tokens", json: ["name": "t", "role": "reporter", "scope": "instance", "expires_at": "2028-02-29"])
            #expect(leap.status == 201, "\(leap.text)")
        }
    }
}
