/// Which network a literal IP address belongs to, for the outbound guard
/// (GitLab's "allow requests to the local network" setting).
public enum AddressClass: Sendable, Equatable {
    case publicAddress
    case loopback
    case privateNetwork
    case linkLocal
    case unspecified

    /// GitLab's URL-blocker wording for a refused address.
    public var refusal: String? {
        switch self {
        case .publicAddress: return nil
        case .loopback: return "Requests to localhost are not allowed"
        case .privateNetwork: return "Requests to the local network are not allowed"
        case .linkLocal: return "Requests to the link local network are not allowed"
        case .unspecified: return "Requests to localhost are not allowed"
        }
    }
}

/// Classifies IPv4 and IPv6 literals; names are resolved by the caller first.
public enum AddressPolicy {
    /// The class of `host` if it is an IP literal or `localhost`, else nil (a name to resolve).
    public static func classifyLiteral(_ host: String) -> AddressClass? {
        let h = host.lowercased()
        if h == "localhost" || h.hasSuffix(".localhost") { return .loopback }
        if let v4 = parseIPv4(h) { return classify(v4: v4) }
        if let v6 = parseIPv6(h) { return classify(v6: v6) }
        return nil
    }

    public static func classify(v4 b: [UInt8]) -> AddressClass {
        switch (b[0], b[1]) {
        case (0, _): return .unspecified
        case (127, _): return .loopback
        case (10, _): return .privateNetwork
        case (172, 16...31): return .privateNetwork
        case (192, 168): return .privateNetwork
        case (100, 64...127): return .privateNetwork  // carrier-grade NAT, shared address space
        case (169, 254): return .linkLocal
        default: return .publicAddress
        }
    }

    public static func classify(v6 b: [UInt8]) -> AddressClass {
        if b.allSatisfy({ $0 == 0 }) { return .unspecified }
        if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return .loopback }
        // IPv4-mapped (::ffff:a.b.c.d) takes the class of its IPv4 address.
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {
            return classify(v4: Array(b[12..<16]))
        }
        if b[0] == 0xfe && (b[1] & 0xc0) == 0x80 { return .linkLocal }
        if (b[0] & 0xfe) == 0xfc { return .privateNetwork }  // unique local fc00::/7
        return .publicAddress
    }

    static func parseIPv4(_ s: String) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt8(p) else { return nil }
            bytes.append(v)
        }
        return bytes
    }

    static func parseIPv6(_ input: String) -> [UInt8]? {
        var s = input
        if s.hasPrefix("[") && s.hasSuffix("]") { s = String(s.dropFirst().dropLast()) }
        if let pct = s.firstIndex(of: "%") { s = String(s[..<pct]) }
        guard s.contains(":") else { return nil }
        var tail4: [UInt8] = []
        if let lastColon = s.lastIndex(of: ":"), s[s.index(after: lastColon)...].contains(".") {
            guard let v4 = parseIPv4(String(s[s.index(after: lastColon)...])) else { return nil }
            tail4 = v4
            s = String(s[...lastColon]) + "0:0"
        }
        let halves = s.splitOnDoubleColon()
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            for g in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard !g.isEmpty, g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all: [UInt16]
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard head.count == 8 else { return nil }
            all = head
        }
        var bytes = all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
        if !tail4.isEmpty { bytes.replaceSubrange(12..<16, with: tail4) }
        return bytes
    }
}

extension String {
    /// Splits at every `::`, the IPv6 zero-run marker.
    fileprivate func splitOnDoubleColon() -> [String] {
        var parts: [String] = []
        var current = ""
        var previousColon = false
        for ch in self {
            if ch == ":" && previousColon {
                current.removeLast()
                parts.append(current)
                current = ""
                previousColon = false
                continue
            }
            current.append(ch)
            previousColon = ch == ":"
        }
        parts.append(current)
        return parts
    }
}
