#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Jira keys a text mentions and the ones it closes, each once, in order of first appearance.
public struct References: Sendable, Equatable {
    /// Keys mentioned but not closed.
    public var mentions: [String]
    /// Keys in closing statements ("Closes PROJ-1, PROJ-2 and PROJ-3").
    public var closes: [String]

    public init(mentions: [String] = [], closes: [String] = []) {
        self.mentions = mentions
        self.closes = closes
    }

    /// Closing keys once each, then every other key once each, in order of first appearance.
    static func collect<S: Sequence<String>>(closes: [String], keys: S) -> References {
        var seen = Set<String>()
        var closing: [String] = []
        for k in closes where seen.insert(k).inserted { closing.append(k) }
        var mentions: [String] = []
        for k in keys where seen.insert(k).inserted { mentions.append(k) }
        return References(mentions: mentions, closes: closing)
    }
}

/// Extracts references with the integration's key rules. Keys inside code spans and fenced code
/// blocks do not count, as in GitLab's Markdown reference filter.
public struct ReferenceExtractor: Sendable {
    public let matcher: KeyMatcher

    public init(matcher: KeyMatcher) {
        self.matcher = matcher
    }

    public init(prefix: String = "", regex: String = "") throws(RegexSyntaxError) {
        self.matcher = try KeyMatcher(prefix: prefix, regex: regex)
    }

    /// Mentions and closing references of `text`.
    public func extract(_ text: String) -> References {
        if matcher.usesBytes { return extractBytes(text) }
        let visible = CodeMasking.mask(text)
        let all = matcher.matches(in: visible)
        if all.isEmpty { return References() }
        let scalars = Array(visible.unicodeScalars)
        let values = scalars.map(\.value)
        let closes = ClosingStatements.scan(values) { matcher.anchoredMatch(scalars: scalars, at: $0) }
        return References.collect(closes: closes, keys: all.lazy.map(\.key))
    }

    /// Mentions and closing references of text given as valid UTF-8 bytes: the default pattern reads them
    /// in place; a user regex gets them as a String.
    public func extract(utf8 text: UnsafeBufferPointer<UInt8>) -> References {
        guard matcher.usesBytes else { return extract(String(decoding: text, as: UTF8.self)) }
        if CodeMasking.needsMasking(text) {
            var bytes = Array(text)
            CodeMasking.mask(&bytes)
            return bytes.withUnsafeBufferPointer { Self.scanDefault($0) }
        }
        return Self.scanDefault(text)
    }

    /// The default pattern: one pass over the UTF-8 bytes (masked into a copy only when the text has
    /// backticks or tildes), finding keys and closing statements together.
    private func extractBytes(_ text: String) -> References {
        var text = text
        return text.withUTF8 { extract(utf8: $0) }
    }

    static func scanDefault(_ buf: UnsafeBufferPointer<UInt8>) -> References {
        var keys: [String] = []
        var closes: [String] = []
        var closingResumesAt = 0
        var i = 0
        let n = buf.count
        while i < n {
            let b = buf[i]
            guard KeyScanner.isWordByte(UInt32(b)) else { i += 1; continue }
            // `i` starts a word.
            if KeyScanner.isUpper(b), let m = KeyScanner.matchAt(buf, i) {
                keys.append(m.key)
                i = m.end
            } else if i >= closingResumesAt, ClosingStatements.isTriggerStart(b),
                let (found, end) = ClosingStatements.statement(buf, at: i, anchored: { KeyScanner.boundedMatchAt(buf, $0) })
            {
                // Keys of the list are picked up again by the key scan (and so are keys inside URLs of
                // the list); statements inside the list do not start a new one.
                closes.append(contentsOf: found)
                closingResumesAt = end
                i += 1
            } else {
                i += 1
            }
            while i < n, KeyScanner.isWordByte(UInt32(buf[i])) { i += 1 }
        }
        if keys.isEmpty { return References() }
        return References.collect(closes: closes, keys: keys)
    }

    /// Every key once, closing statements included, for text that cannot close anything
    /// (a commit that does not reach the default branch).
    public func allKeys(_ text: String) -> [String] {
        var seen = Set<String>()
        return matcher.matches(in: CodeMasking.mask(text)).map(\.key).filter { seen.insert($0).inserted }
    }
}

/// Blanks out code spans and fenced code blocks, keeping every other byte where it was.
enum CodeMasking {
    static func mask(_ text: String) -> String {
        var text = text
        let needs = text.withUTF8 { needsMasking($0) }
        if !needs { return text }
        var bytes = Array(text.utf8)
        mask(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether the text has a backtick or a tilde at all (`memchr` runs many bytes at a time).
    static func needsMasking(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = buf.baseAddress, buf.count > 0 else { return false }
        return memchr(base, 96, buf.count) != nil || memchr(base, 126, buf.count) != nil
    }

    static func mask(_ bytes: inout [UInt8]) {
        maskFences(&bytes)
        maskSpans(&bytes)
    }

    /// Fenced blocks: a line starting (after up to 3 spaces) with 3+ backticks or tildes, up to a closing
    /// fence of the same character at least as long, or the end of the text. Only line starts are read.
    static func maskFences(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBufferPointer { b in
            let n = b.count
            var lineStart = 0
            var open: (char: UInt8, length: Int, start: Int)? = nil
            while lineStart < n {
                let lineEnd = b.index(of: 10, from: lineStart) ?? n
                var i = lineStart
                var indent = 0
                while i < lineEnd, b[i] == 32, indent < 4 { i += 1; indent += 1 }
                var fence: (UInt8, Int)? = nil
                if indent < 4, i < lineEnd, b[i] == 96 || b[i] == 126 {
                    let c = b[i]
                    var j = i
                    while j < lineEnd, b[j] == c { j += 1 }
                    if j - i >= 3 { fence = (c, j - i) }
                }
                if let current = open {
                    if let f = fence, f.0 == current.char, f.1 >= current.length {
                        blank(b, current.start..<lineEnd)
                        open = nil
                    }
                } else if let f = fence {
                    open = (f.0, f.1, lineStart)
                }
                lineStart = lineEnd + 1
            }
            if let current = open { blank(b, current.start..<n) }
        }
    }

    /// Inline code: a run of n backticks up to the next run of exactly n backticks.
    static func maskSpans(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBufferPointer { b in
            let n = b.count
            var next = b.index(of: 96, from: 0)
            while let i = next {
                var j = i
                while j < n, b[j] == 96 { j += 1 }
                let run = j - i
                var closed = -1
                var k = b.index(of: 96, from: j)
                while let start = k {
                    var e = start
                    while e < n, b[e] == 96 { e += 1 }
                    if e - start == run { closed = e; break }
                    k = b.index(of: 96, from: e)
                }
                if closed < 0 {
                    next = b.index(of: 96, from: j)
                    continue
                }
                blank(b, i..<closed)
                next = b.index(of: 96, from: closed)
            }
        }
    }

    /// Spaces over `range`, newlines kept.
    static func blank(_ b: UnsafeMutableBufferPointer<UInt8>, _ range: Range<Int>) {
        for x in range where b[x] != 10 { b[x] = 32 }
    }
}

extension UnsafeMutableBufferPointer<UInt8> {
    /// The first `byte` at or after `from`, by `memchr`.
    @inline(__always)
    func index(of byte: UInt8, from: Int) -> Int? {
        guard from < count, let base = baseAddress else { return nil }
        guard let hit = memchr(base + from, Int32(byte), count - from) else { return nil }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }
}

/// GitLab's closing pattern, with one difference: every key of a list closes
/// ("Closes and A-3"), where GitLab closes only the first.
enum ClosingStatements {
    /// Trigger stems and the endings each may take, longest first.
    static let triggers: [(stem: [UInt8], endings: [[UInt8]])] = [
        (Array("los".utf8), [Array("ing".utf8), Array("es".utf8), Array("ed".utf8), Array("e".utf8)]),  // [Cc]los
        (Array("ix".utf8), [Array("ing".utf8), Array("es".utf8), Array("ed".utf8), []]),  // [Ff]ix
        (Array("esolv".utf8), [Array("ing".utf8), Array("es".utf8), Array("ed".utf8), Array("e".utf8)]),  // [Rr]esolv
        (Array("mplement".utf8), [Array("ing".utf8), Array("ed".utf8), Array("s".utf8), []]),  // [Ii]mplement
    ]

    /// The keys of every closing statement in `u` (UTF-8 bytes or scalar values); `anchored` finds a key
    /// reference starting exactly at an offset.
    static func scan<C: RandomAccessCollection>(_ u: C, anchored: (Int) -> KeyMatcher.Match?) -> [String]
    where C.Element: FixedWidthInteger, C.Index == Int {
        var out: [String] = []
        var i = u.startIndex
        while i < u.endIndex {
            if isTriggerStart(u[i]), i == 0 || !KeyScanner.isWordByte(UInt32(truncatingIfNeeded: u[i - 1])),
                let (keys, end) = statement(u, at: i, anchored: anchored)
            {
                out.append(contentsOf: keys)
                i = max(end, i + 1)
            } else {
                i += 1
            }
        }
        return out
    }

    /// The first letter of a trigger word, either case.
    @inline(__always)
    static func isTriggerStart<T: FixedWidthInteger>(_ b: T) -> Bool {
        switch UInt32(truncatingIfNeeded: b) | 0x20 {
        case 99, 102, 114, 105: return true
        default: return false
        }
    }

    /// The closing statement starting with a trigger word at `i` (which starts a word): its keys and
    /// where its list ends, or nil.
    static func statement<C: RandomAccessCollection>(_ u: C, at i: Int, anchored: (Int) -> KeyMatcher.Match?) -> ([String], Int)?
    where C.Element: FixedWidthInteger, C.Index == Int {
        let index: Int
        switch UInt32(truncatingIfNeeded: u[i]) | 0x20 {
        case 99: index = 0  // c
        case 102: index = 1  // f
        case 114: index = 2  // r
        case 105: index = 3  // i
        default: return nil
        }
        guard let afterWord = matchTrigger(u, i + 1, triggers[index]) else { return nil }
        let n = u.endIndex
        var p = afterWord
        if p < n, u[p] == 58 { p += 1 }  // optional colon
        let spacesStart = p
        while p < n, u[p] == 32 { p += 1 }
        guard p > spacesStart else { return nil }
        p = skipIssueWord(u, p)
        return list(u, p, anchored: anchored)
    }

    static func matchTrigger<C: RandomAccessCollection>(_ u: C, _ start: Int, _ trigger: (stem: [UInt8], endings: [[UInt8]])) -> Int?
    where C.Element: FixedWidthInteger, C.Index == Int {
        var p = start
        for b in trigger.stem {
            guard p < u.endIndex, u[p] == b else { return nil }
            p += 1
        }
        for ending in trigger.endings {
            var q = p
            var ok = true
            for b in ending {
                guard q < u.endIndex, u[q] == b else { ok = false; break }
                q += 1
            }
            // The word must end here: a colon or a space follows.
            if ok, q < u.endIndex, u[q] == 58 || u[q] == 32 { return q }
        }
        return nil
    }

    /// `issue ` or `issues ` before the list.
    static func skipIssueWord<C: RandomAccessCollection>(_ u: C, _ p: Int) -> Int where C.Element: FixedWidthInteger, C.Index == Int {
        let word: [UInt8] = Array("issue".utf8)
        guard p + word.count <= u.endIndex else { return p }
        for (k, b) in word.enumerated() where u[p + k] != b { return p }
        var q = p + word.count
        if q < u.endIndex, u[q] == 115 { q += 1 }
        let spaces = q
        while q < u.endIndex, u[q] == 32 { q += 1 }
        return q > spaces ? q : p
    }

    /// Items separated by ` *,? +and +` or ` *,? *`: Jira keys (collected), GitLab references and URLs (skipped).
    static func list<C: RandomAccessCollection>(_ u: C, _ start: Int, anchored: (Int) -> KeyMatcher.Match?) -> ([String], Int)
    where C.Element: FixedWidthInteger, C.Index == Int {
        var keys: [String] = []
        var p = start
        var lastItemEnd = start
        while p < u.endIndex {
            // An empty match (a user pattern such as `x*`) is no key, and taking it would never move on.
            if let m = anchored(p), m.end > p, !m.key.isEmpty {
                keys.append(m.key)
                p = m.end
            } else if let end = gitLabReference(u, p) {
                p = end
            } else {
                break
            }
            lastItemEnd = p
            // Separator.
            var q = p
            while q < u.endIndex, u[q] == 32 { q += 1 }
            if q < u.endIndex, u[q] == 44 { q += 1 }
            let afterComma = q
            while q < u.endIndex, u[q] == 32 { q += 1 }
            if q + 3 < u.endIndex, u[q] == 97, u[q + 1] == 110, u[q + 2] == 100, u[q + 3] == 32, q > afterComma || afterComma > p {
                q += 3
                while q < u.endIndex, u[q] == 32 { q += 1 }
            }
            p = q
        }
        return (keys, lastItemEnd)
    }

    /// `#123`, `group/project#123` or an `http(s)://` URL at `p`; returns where it ends.
    static func gitLabReference<C: RandomAccessCollection>(_ u: C, _ p: Int) -> Int? where C.Element: FixedWidthInteger, C.Index == Int {
        var q = p
        // Optional project path before `#`.
        while q < u.endIndex, KeyScanner.isWordByte(UInt32(truncatingIfNeeded: u[q])) || u[q] == 47 || u[q] == 45 || u[q] == 46 { q += 1 }
        if q < u.endIndex, u[q] == 35 {
            var d = q + 1
            while d < u.endIndex, u[d] >= 48, u[d] <= 57 { d += 1 }
            if d > q + 1 { return d }
        }
        if p + 7 < u.endIndex, u[p] == 104, u[p + 1] == 116, u[p + 2] == 116, u[p + 3] == 112 {
            var e = p
            while e < u.endIndex, u[e] != 32, u[e] != 10, u[e] != 9 { e += 1 }
            var rest = p + 4
            if rest < u.endIndex, u[rest] == 115 { rest += 1 }
            if rest + 2 < u.endIndex, u[rest] == 58, u[rest + 1] == 47, u[rest + 2] == 47 { return e }
        }
        return nil
    }
}
