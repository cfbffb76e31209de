/// Which network an IP address belongs to, for the outbound guard (GitLab's "allow requests to the
/// local network" setting) and the trusted-proxy list.
public enum AddressClass: Sendable, Equatable {
    case publicAddress
    case loopback
    case privateNetwork
    case linkLocal
    case unspecified
    /// Multicast, broadcast, documentation, benchmarking, reserved and the other special-purpose blocks
    /// of IANA's registries that no Jira is served from.
    case specialPurpose

    /// GitLab's URL-blocker wording for a refused address.
    public var refusal: String? {
        switch self {
        case .publicAddress: return nil
        case .loopback: return "Requests to localhost are not allowed"
        case .privateNetwork: return "Requests to the local network are not allowed"
        case .linkLocal: return "Requests to the link local network are not allowed"
        case .unspecified: return "Requests to localhost are not allowed"
        case .specialPurpose: return "Requests to special-purpose addresses (multicast, broadcast, reserved, documentation) are not allowed"
        }
    }
}

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses an IP literal the way a URL's host is parsed (WHATWG URL standard): IPv4 in dotted,
    /// hex, octal and short forms (`127.1`, `0x7f000001`, `2130706433`), IPv6 with or without brackets.
    public init?(literal: String) {
        if let v4 = AddressPolicy.parseIPv4(literal) { self.bytes = v4; return }
        if let v6 = AddressPolicy.parseIPv6(literal) { self.bytes = v6; return }
        return nil
    }

    public var isIPv4: Bool { bytes.count == 4 }

    public var addressClass: AddressClass {
        isIPv4 ? AddressPolicy.classify(v4: bytes) : AddressPolicy.classify(v6: bytes)
    }

    /// Canonical text: dotted IPv4, or IPv6 groups in hex (without zero compression, which is still valid).
    public var description: String {
        if isIPv4 { return bytes.map { String($0) }.joined(separator: ".") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }
}

/// A CIDR block (`10.0.0.0/8`, `::1/128`; a bare address is a block of one), for trusted proxies.
public struct IPNetwork: Sendable, Hashable {
    public let base: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.trimmingWhitespace().split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let address = IPAddress(literal: String(first)) else { return nil }
        let maxBits = address.bytes.count * 8
        var bits = maxBits
        if parts.count == 2 {
            guard let n = Int(parts[1]), (0...maxBits).contains(n) else { return nil }
            bits = n
        }
        self.base = address
        self.prefixLength = bits
    }

    public func contains(_ address: IPAddress) -> Bool {
        var candidate = address.bytes
        // An IPv4-mapped IPv6 peer (::ffff:a.b.c.d, as dual-stack sockets report IPv4 clients) matches IPv4 blocks.
        if base.isIPv4, candidate.count == 16, candidate[0..<10].allSatisfy({ $0 == 0 }), candidate[10] == 0xff, candidate[11] == 0xff {
            candidate = Array(candidate[12..<16])
        }
        guard candidate.count == base.bytes.count else { return false }
        var remaining = prefixLength
        for i in 0..<candidate.count where remaining > 0 {
            let take = min(8, remaining)
            let mask: UInt8 = take == 8 ? 0xff : ~(0xff >> UInt8(take))
            if candidate[i] & mask != base.bytes[i] & mask { return false }
            remaining -= take
        }
        return true
    }
}

/// Classifies IPv4 and IPv6 addresses; names are resolved by the caller first.
public enum AddressPolicy {
    /// The class of `host` if it is an IP literal or `localhost`, else nil (a name to resolve). A host that
    /// ends in a number but is no valid IPv4 address (`1.2.3.256`, `0x1g`) is refused as special-purpose:
    /// browsers and the URL standard reject it, and no Jira is served from it.
    public static func classifyLiteral(_ host: String) -> AddressClass? {
        let h = host.lowercased()
        if h == "localhost" || h.hasSuffix(".localhost") || h == "localhost." || h.hasSuffix(".localhost.") { return .loopback }
        if let address = IPAddress(literal: h) { return address.addressClass }
        if endsInNumber(h) { return .specialPurpose }
        return nil
    }

    public static func classify(v4 b: [UInt8]) -> AddressClass {
        switch (b[0], b[1], b[2]) {
        case (0, _, _): return .unspecified  // 0.0.0.0/8 "this network"
        case (127, _, _): return .loopback
        case (10, _, _), (172, 16...31, _), (192, 168, _): return .privateNetwork
        case (100, 64...127, _): return .privateNetwork  // shared address space (carrier-grade NAT)
        case (169, 254, _): return .linkLocal
        case (192, 0, 0), (192, 0, 2), (198, 51, 100), (203, 0, 113): return .specialPurpose  // IETF, TEST-NET-1/2/3
        case (192, 88, 99): return .specialPurpose  // deprecated 6to4 relay anycast
        case (198, 18...19, _): return .specialPurpose  // benchmarking
        case (224...255, _, _): return .specialPurpose  // multicast, reserved, limited broadcast
        default: return .publicAddress
        }
    }

    public static func classify(v6 b: [UInt8]) -> AddressClass {
        let zeroHead = b[0..<10].allSatisfy { $0 == 0 }
        if b.allSatisfy({ $0 == 0 }) { return .unspecified }
        if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return .loopback }
        // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) take the class of their IPv4 address.
        if zeroHead && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0)) { return classify(v4: Array(b[12..<16])) }
        // NAT64 well-known prefix 64:ff9b::/96: the embedded IPv4 address is where the packets go.
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4..<12].allSatisfy({ $0 == 0 }) {
            return classify(v4: Array(b[12..<16]))
        }
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1 { return .privateNetwork }  // local-use NAT64
        // 6to4 2002::/16 carries an IPv4 address in bytes 2...5.
        if b[0] == 0x20 && b[1] == 0x02 {
            let inner = classify(v4: Array(b[2..<6]))
            return inner == .publicAddress ? .publicAddress : inner
        }
        if b[0] == 0x01 && b[1] == 0x00 && b[2..<8].allSatisfy({ $0 == 0 }) { return .specialPurpose }  // discard-only 100::/64
        if b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02 { return .specialPurpose }  // IETF protocol assignments 2001::/23 (Teredo too)
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8 { return .specialPurpose }  // documentation 2001:db8::/32
        if b[0] == 0x3f && b[1] == 0xff && b[2] < 0x10 { return .specialPurpose }  // documentation 3fff::/20
        if b[0] == 0x5f && b[1] == 0x00 { return .specialPurpose }  // SRv6 SIDs 5f00::/16
        if b[0] == 0xfe && (b[1] & 0xc0) == 0x80 { return .linkLocal }
        if b[0] == 0xfe && (b[1] & 0xc0) == 0xc0 { return .privateNetwork }  // deprecated site-local fec0::/10
        if (b[0] & 0xfe) == 0xfc { return .privateNetwork }  // unique local fc00::/7
        if b[0] == 0xff { return .specialPurpose }  // multicast
        if zeroHead { return .specialPurpose }  // the rest of ::/80 is reserved
        return .publicAddress
    }

    /// The URL standard's IPv4 parser: 1 to 4 dot-separated numbers, each decimal, octal (leading 0) or
    /// hex (0x); the last fills the remaining bytes. A single trailing dot is allowed.
    static func parseIPv4(_ input: String) -> [UInt8]? {
        var parts = input.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1, parts.last == "" { parts.removeLast() }
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            guard let n = ipv4Number(part) else { return nil }
            numbers.append(n)
        }
        for n in numbers.dropLast() where n > 255 { return nil }
        let lastLimit: UInt64 = 1 << (8 * UInt64(5 - numbers.count))
        guard let last = numbers.last, last < lastLimit else { return nil }
        var value = last
        for (i, n) in numbers.dropLast().enumerated() { value += n << (8 * UInt64(3 - i)) }
        return [UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    /// One part of an IPv4 address; nil for anything else (empty, letters, more than 32 bits).
    static func ipv4Number(_ part: String) -> UInt64? {
        guard !part.isEmpty else { return nil }
        var text = Substring(part)
        var radix = 10
        if text.count >= 2, text.hasPrefix("0x") || text.hasPrefix("0X") {
            text = text.dropFirst(2)
            radix = 16
            if text.isEmpty { return 0 }
        } else if text.count >= 2, text.hasPrefix("0") {
            text = text.dropFirst()
            radix = 8
        }
        guard text.count <= 32, text.unicodeScalars.allSatisfy({ $0.isASCII }), let v = UInt64(text, radix: radix), v <= UInt64(UInt32.max) else {
            return nil
        }
        return v
    }

    /// Whether a host's last label is a number in the URL standard's sense (then it must be IPv4).
    static func endsInNumber(_ host: String) -> Bool {
        var labels = host.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count > 1, labels.last == "" { labels.removeLast() }
        guard let last = labels.last, !last.isEmpty else { return false }
        if last.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return true }
        if last.hasPrefix("0x") || last.hasPrefix("0X") {
            return last.dropFirst(2).unicodeScalars.allSatisfy { $0.isASCII && $0.properties.isASCIIHexDigit }
        }
        return false
    }

    static func parseIPv6(_ input: String) -> [UInt8]? {
        var s = input
        if s.hasPrefix("[") && s.hasSuffix("]") { s = String(s.dropFirst().dropLast()) }
        if let pct = s.firstIndex(of: "%") { s = String(s[..<pct]) }
        guard s.contains(":"), s.utf8.count <= 64 else { return nil }
        var tail4: [UInt8] = []
        if let lastColon = s.lastIndex(of: ":"), s[s.index(after: lastColon)...].contains(".") {
            // Only the strict dotted form is allowed inside IPv6.
            let text = String(s[s.index(after: lastColon)...])
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }),
                let v4 = parseIPv4(text)
            else { return nil }
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
