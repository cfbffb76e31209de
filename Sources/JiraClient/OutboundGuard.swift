#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Integration

/// Turns a host name into the addresses it resolves to. A seam so tests can make a public-looking
/// name resolve to a private address.
public protocol HostResolver: Sendable {
    func resolve(host: String) async throws -> [AddressClass]
}

/// Resolution through the system's `getaddrinfo`, off the cooperative pool.
public struct SystemHostResolver: HostResolver {
    public init() {}

    public func resolve(host: String) async throws -> [AddressClass] {
        try await Task.detached { try SystemHostResolver.lookup(host) }.value
    }

    struct LookupFailed: Error { let message: String }

    static func lookup(_ host: String) throws -> [AddressClass] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, nil, &hints, &result)
        guard rc == 0, let first = result else {
            throw LookupFailed(message: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(first) }
        var classes: [AddressClass] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let addr = info.pointee.ai_addr {
                if info.pointee.ai_family == AF_INET {
                    addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                        let raw = sin.pointee.sin_addr.s_addr  // network byte order
                        let b = withUnsafeBytes(of: raw) { Array($0) }
                        classes.append(AddressPolicy.classify(v4: b))
                    }
                } else if info.pointee.ai_family == AF_INET6 {
                    addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                        let b = withUnsafeBytes(of: sin6.pointee.sin6_addr) { Array($0) }
                        classes.append(AddressPolicy.classify(v6: b))
                    }
                }
            }
            cursor = info.pointee.ai_next
        }
        return classes
    }
}

/// Refuses Jira URLs on loopback, private, link-local and unspecified addresses, after resolution,
/// unless local requests are allowed.
public struct OutboundGuard: Sendable {
    public var allowLocalRequests: Bool
    public var resolver: any HostResolver

    public init(allowLocalRequests: Bool, resolver: any HostResolver = SystemHostResolver()) {
        self.allowLocalRequests = allowLocalRequests
        self.resolver = resolver
    }

    /// Throws `.blocked` when `host` is, or resolves to, a refused address; `.unresolvable` when it does
    /// not resolve at all.
    public func check(host: String) async throws(JiraError) {
        if allowLocalRequests { return }
        let classes: [AddressClass]
        if let literal = AddressPolicy.classifyLiteral(host) {
            classes = [literal]
        } else {
            do {
                classes = try await resolver.resolve(host: host)
            } catch {
                throw JiraError(kind: .unresolvable, detail: "Failed to open TCP connection to \(host) (getaddrinfo: \(error))")
            }
        }
        if let refused = classes.first(where: { $0 != .publicAddress }), let why = refused.refusal {
            throw JiraError(kind: .blocked, detail: "URL is blocked: \(why)")
        }
    }
}
