/// An http(s) URL read the way a browser reads it (the WHATWG URL standard's rules for special schemes), so
/// that what is checked is what a browser would request: tabs and newlines anywhere are dropped, `\` is `/`
/// before the query, any number of slashes may follow the scheme, the host is lower-cased, a default port
/// is no port, a trailing dot is the same host, and a host that ends in a number is an IPv4 address in any
/// of its spellings (`2130706433`, `0x7f.1`, `0177.0.0.1`). A host a browser would map further (percent
/// escapes, non-ASCII letters such as fullwidth ones, which IDNA folds to ASCII) is not guessed at: nil.
public struct BrowserURL: Sendable, Equatable {
    public var scheme: String
    /// Lower-case; an IPv4 address in dotted decimal; an IPv6 address in brackets, as written.
    public var host: String
    /// nil for the scheme's default port.
    public var port: Int?
    /// Path, query and fragment, from the first `/`, `?` or `#` after the host (may be empty).
    public var rest: String

    public init?(_ text: String) {
        // Browsers drop ASCII tab and newlines anywhere, and C0 controls and spaces at both ends.
        var scalars = String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\t" && $0 != "\n" && $0 != "\r" })
        while let first = scalars.first, first.value <= 0x20 { scalars.removeFirst() }
        while let last = scalars.last, last.value <= 0x20 { scalars.removeLast() }
        let cleaned = String(scalars)
        guard let colon = cleaned.firstIndex(of: ":") else { return nil }
        let scheme = cleaned[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var remainder = cleaned[cleaned.index(after: colon)...]
        // Any run of `/` and `\` starts the authority.
        while let c = remainder.first, c == "/" || c == "\\" { remainder = remainder.dropFirst() }
        let authorityEnd = remainder.firstIndex { $0 == "/" || $0 == "\\" || $0 == "?" || $0 == "#" } ?? remainder.endIndex
        let authority = remainder[..<authorityEnd]
        // A user name or password in a link is a disguise (`https://bank.example@evil.example`): refused.
        // By scalar, as everything a browser reads here: a mark combined with `@` must not hide it.
        guard !authority.isEmpty, !authority.unicodeScalars.contains("@") else { return nil }
        var hostText = Substring(authority)
        var port: Int?
        if hostText.hasPrefix("[") {
            guard let close = hostText.firstIndex(of: "]") else { return nil }
            let after = hostText[hostText.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                port = try? Self.port(after.dropFirst())
                if port == nil && after.count > 1 { return nil }
            }
            hostText = hostText[...close]
            guard hostText.dropFirst().dropLast().unicodeScalars.allSatisfy({ $0.isASCIIHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else if let portColon = hostText.lastIndex(of: ":") {
            let digits = hostText[hostText.index(after: portColon)...]
            hostText = hostText[..<portColon]
            if !digits.isEmpty {
                guard let p = try? Self.port(digits) else { return nil }
                port = p
            }
        }
        var host = hostText.lowercased()
        if !host.hasPrefix("[") {
            guard host.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && !"%\\/?#@:<>^|[]".unicodeScalars.contains($0) }) else {
                return nil
            }
            if host.hasSuffix(".") && host.count > 1 { host.removeLast() }
            // Empty labels (`....`, `a..b`, `.a`) name no host a browser resolves the same way twice: refused,
            // so that a URL written back reads the same the second time.
            guard !host.isEmpty, !host.hasPrefix("."), !host.hasSuffix("."), !host.contains("..") else { return nil }
            // A host that ends in a number is an IPv4 address (in any spelling), or no host at all.
            if AddressPolicy.endsInNumber(host) {
                guard let b = AddressPolicy.parseIPv4(host) else { return nil }
                host = "\(b[0]).\(b[1]).\(b[2]).\(b[3])"
            }
        }
        if port == (scheme == "https" ? 443 : 80) { port = nil }
        // `\` is `/` in the path of a special URL, not in its query or fragment.
        var rest = String(remainder[authorityEnd...])
        if let stop = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            rest = String(rest[..<stop]).replacingAll("\\", with: "/") + rest[stop...]
        } else {
            rest = rest.replacingAll("\\", with: "/")
        }
        self.scheme = scheme
        self.host = host
        self.port = port
        self.rest = rest
    }

    public var origin: String { port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)" }
    /// The URL as a browser would request it.
    public var text: String { origin + rest }

    struct BadPort: Error {}

    /// Digits only (leading zeros allowed, as browsers allow them), 0 to 65535.
    static func port(_ digits: Substring) throws -> Int {
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { throw BadPort() }
        let trimmed = digits.drop { $0 == "0" }
        guard trimmed.count <= 5, let value = Int(trimmed.isEmpty ? "0" : String(trimmed)), value <= 65535 else { throw BadPort() }
        return value
    }
}

extension Unicode.Scalar {
    var isASCIIHexDigit: Bool { ("0"..."9").contains(self) || ("a"..."f").contains(self) || ("A"..."F").contains(self) }
}
