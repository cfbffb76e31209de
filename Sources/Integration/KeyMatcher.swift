/// Finds Jira issue keys in text with the integration's rules: GitLab's reference pattern
/// `\b<prefix>(?P<issue><regex>)`, where the regex defaults to `\b([A-Z][A-Z_0-9]+-\d+)`.
///
/// The default pattern without a prefix runs on a hand-written byte scanner (the fast path); any
/// custom prefix or regex runs on the linear-time `RegexProgram`.
public struct KeyMatcher: Sendable {
    enum Engine: Sendable {
        case defaultPattern
        case program(RegexProgram, issueSlot: Int)
    }

    let engine: Engine

    /// The matcher for an integration's `jira_issue_prefix` and `jira_issue_regex` (blank for the defaults).
    public init(prefix: String = "", regex: String = "") throws(RegexSyntaxError) {
        if prefix.isEmpty && regex.isEmpty {
            engine = .defaultPattern
            return
        }
        let keyPattern = regex.isEmpty ? "\\b([A-Z][A-Z_0-9]+-\\d+)" : regex
        let program = try RegexProgram("\\b\(prefix)(?P<issue>\(keyPattern))")
        guard let group = program.parsed.captureIndex(named: "issue") else {
            throw RegexSyntaxError(message: "the issue group is missing")
        }
        engine = .program(program, issueSlot: 2 * group)
    }

    /// A match: where the whole reference starts and ends, and the key (the `issue` group).
    public struct Match: Sendable, Equatable {
        public var start: Int
        public var end: Int
        public var key: String
    }

    /// Every key in `text`, left to right, as UTF-8 byte offsets (default engine) or scalar offsets.
    public func matches(in text: String) -> [Match] {
        switch engine {
        case .defaultPattern:
            var out: [Match] = []
            KeyScanner.scan(text) { out.append($0) }
            return out
        case .program(let program, let slot):
            let scalars = Array(text.unicodeScalars)
            var out: [Match] = []
            var pos = 0
            while pos <= scalars.count, let m = program.match(scalars, from: pos) {
                let start = m[0], end = m[1]
                // An empty capture is no key (a pattern such as `x*` matches nothing everywhere).
                if m[slot] >= 0, m[slot + 1] > m[slot] {
                    var key = String.UnicodeScalarView()
                    key.append(contentsOf: scalars[m[slot]..<m[slot + 1]])
                    out.append(Match(start: start, end: end, key: String(key)))
                }
                pos = end > start ? end : start + 1
            }
            return out
        }
    }

    /// The key of a reference starting exactly at `offset` (in the same units `matches` uses), if any.
    /// The reference starting exactly at scalar `offset` (program engine only).
    func anchoredMatch(scalars: [Unicode.Scalar], at offset: Int) -> Match? {
        switch engine {
        case .defaultPattern:
            return nil
        case .program(let program, let slot):
            guard let m = program.match(scalars, from: offset, anchored: true), m[slot] >= 0, m[slot + 1] > m[slot] else { return nil }
            var key = String.UnicodeScalarView()
            key.append(contentsOf: scalars[m[slot]..<m[slot + 1]])
            return Match(start: m[0], end: m[1], key: String(key))
        }
    }

    var usesBytes: Bool { if case .defaultPattern = engine { return true }; return false }
}

/// The fast path for `\b([A-Z][A-Z_0-9]+-\d+)`: one pass over UTF-8 bytes, no allocation per byte.
enum KeyScanner {
    /// `[0-9A-Za-z_]`, by a bit in one of two 64-bit masks (digits below 64; letters and `_` above), with
    /// no branch: the scan asks this of every byte.
    @inline(__always) static func isWordByte(_ b: UInt32) -> Bool {
        let low: UInt64 = 0x03FF_0000_0000_0000  // 48...57
        let high: UInt64 = 0x07FF_FFFE_87FF_FFFE  // 65...90, 95, 97...122 (less 64)
        let mask = b < 64 ? low : high
        return b < 128 && (mask >> UInt64(b & 63)) & 1 != 0
    }

    @inline(__always) static func isUpper(_ b: UInt8) -> Bool { b >= 65 && b <= 90 }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    @inline(__always) static func isKeyBody(_ b: UInt8) -> Bool { isUpper(b) || isDigit(b) || b == 95 }

    static func scan(_ text: String, _ emit: (KeyMatcher.Match) -> Void) {
        var copy = text
        copy.withUTF8 { scan($0, emit) }
    }

    static func scan(_ buf: UnsafeBufferPointer<UInt8>, _ emit: (KeyMatcher.Match) -> Void) {
        var i = 0
        let n = buf.count
        while i < n {
            let b = buf[i]
            if isUpper(b) && (i == 0 || !isWordByte(UInt32(buf[i - 1]))), let m = matchAt(buf, i) {
                emit(m)
                i = m.end
                continue
            }
            i += 1
        }
    }

    /// A key starting at `i` after a word boundary (the `\\b` of the pattern).
    @inline(__always)
    static func boundedMatchAt(_ buf: UnsafeBufferPointer<UInt8>, _ i: Int) -> KeyMatcher.Match? {
        if i > 0 && isWordByte(UInt32(buf[i - 1])) { return nil }
        return matchAt(buf, i)
    }

    /// A key starting at `i` (the boundary before it is the caller's business), ending after its digits.
    @inline(__always)
    static func matchAt<C: RandomAccessCollection>(_ buf: C, _ i: Int) -> KeyMatcher.Match? where C.Element == UInt8, C.Index == Int {
        let n = buf.endIndex
        guard i < n, isUpper(buf[i]) else { return nil }
        var j = i + 1
        while j < n, isKeyBody(buf[j]) { j += 1 }
        guard j - i >= 2, j < n, buf[j] == 45 else { return nil }
        var k = j + 1
        while k < n, isDigit(buf[k]) { k += 1 }
        guard k > j + 1 else { return nil }
        return KeyMatcher.Match(start: i, end: k, key: String(decoding: buf[i..<k], as: UTF8.self))
    }
}
