import Integration

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns a host name into the addresses it resolves to. A seam so tests can make a public-looking
/// name resolve to a private address.
public protocol HostResolver: Sendable {
    func resolve(host: String) async throws -> [IPAddress]
}

/// Resolution through the system's `getaddrinfo`, off the cooperative pool.
public struct SystemHostResolver: HostResolver {
    public init() {}

    public func resolve(host: String) async throws -> [IPAddress] {
        try await Task.detached { try SystemHostResolver.lookup(host) }.value
    }

    struct LookupFailed: Error { let message: String }

    static func lookup(_ host: String) throws -> [IPAddress] {
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
        var addresses: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let addr = info.pointee.ai_addr {
                if info.pointee.ai_family == AF_INET {
                    addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                        let raw = sin.pointee.sin_addr.s_addr  // network byte order
                        let b = withUnsafeBytes(of: raw) { Array($0) }
                        if let a = IPAddress(bytes: b) { addresses.append(a) }
                    }
                } else if info.pointee.ai_family == AF_INET6 {
                    addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                        let b = withUnsafeBytes(of: sin6.pointee.sin6_addr) { Array($0) }
                        if let a = IPAddress(bytes: b) { addresses.append(a) }
                    }
                }
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }
}

/// Refuses Jira URLs on loopback, private, link-local, unspecified and special-purpose addresses, after
/// resolution, unless local requests are allowed. The address it checked is the one to connect to, so a
/// name that resolves differently a moment later (DNS rebinding) cannot slip past it.
public struct OutboundGuard: Sendable {
    public var allowLocalRequests: Bool
    public var resolver: any HostResolver
    /// Addresses allowed although they are local (GitLab's "Local IP addresses and domain names that hooks
    /// and integrations can access"): a Jira on the internal network, without opening all of it.
    public var allowedNetworks: [IPNetwork]

    public init(allowLocalRequests: Bool, resolver: any HostResolver = SystemHostResolver(), allowedNetworks: [IPNetwork] = []) {
        self.allowLocalRequests = allowLocalRequests
        self.resolver = resolver
        self.allowedNetworks = allowedNetworks
    }

    /// Why `address` is refused, or nil.
    func refusal(_ address: IPAddress) -> String? {
        if allowedNetworks.contains(where: { $0.contains(address) }) { return nil }
        return address.addressClass.refusal
    }

    /// The address to connect to for `host`: nil when local requests are allowed (the HTTP client
    /// resolves as usual) or the host is an IP literal already. Throws `.blocked` when `host` is, or
    /// resolves to, any refused address; `.unresolvable` when it does not resolve at all.
    public func check(host: String) async throws(JiraError) -> IPAddress? {
        if allowLocalRequests { return nil }
        if let address = IPAddress(literal: host) {
            if let why = refusal(address) { throw JiraError(kind: .blocked, detail: "URL is blocked: \(why)") }
            return nil
        }
        if let literal = AddressPolicy.classifyLiteral(host), let why = literal.refusal {
            throw JiraError(kind: .blocked, detail: "URL is blocked: \(why)")
        }
        let addresses: [IPAddress]
        do {
            addresses = try await resolver.resolve(host: host)
        } catch {
            throw JiraError(kind: .unresolvable, detail: "Failed to open TCP connection to \(host) (getaddrinfo: \(error))")
        }
        guard let first = addresses.first else {
            throw JiraError(kind: .unresolvable, detail: "Failed to open TCP connection to \(host) (getaddrinfo: no address)")
        }
        // Every answer must be allowed: a resolver could hand the HTTP client any of them.
        if let refused = addresses.lazy.compactMap({ refusal($0) }).first {
            throw JiraError(kind: .blocked, detail: "URL is blocked: \(refused)")
        }
        return first
    }
}
