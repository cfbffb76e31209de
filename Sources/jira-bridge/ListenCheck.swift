import Foundation

/// The listen address, tried before `serve` writes anything: a port in use (often a server started earlier)
/// is one line that names the address, and the data directory stays as it was.
enum ListenCheck {
    /// `127.0.0.1:8080`, `[::1]:8080`.
    static func address(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Binds a socket to `host:port` as the server will (SO_REUSEADDR, the first address the name resolves to)
    /// and closes it at once.
    static func check(host: String, port: Int) throws {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw StartupError(description: "cannot listen on \(address(host, port)): \(String(cString: gai_strerror(resolved))) (check --host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else {
            throw StartupError(description: "cannot listen on \(address(host, port)): \(String(cString: strerror(errno)))", kind: .unavailable)
        }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let code = errno
            var text = "cannot listen on \(address(host, port)): \(String(cString: strerror(code)))"
            if code == EADDRINUSE { text += "; another process has the port (a jira-bridge started earlier?): stop it, or choose another --port" }
            if code == EACCES { text += "; ports below 1024 need privileges: choose another --port" }
            throw StartupError(description: text, kind: .unavailable)
        }
    }
}

extension BuildInfo {
    /// What `jira-bridge --version` prints: `0.16.0 (commit 1a2b3c4d5e6f)`.
    static var description: String { "\(version) (commit \(commit))" }
}
