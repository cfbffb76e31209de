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
        var visible = CodeMasking.mask(text)
        let all: [KeyMatcher.Match]
        let closes: [String]
        if matcher.usesBytes {
            // One pass over the UTF-8 bytes in place: no copy of the text.
            (all, closes) = visible.withUTF8 { buf in
                var found: [KeyMatcher.Match] = []
                KeyScanner.scan(buf) { found.append($0) }
                if found.isEmpty { return ([], []) }
                return (found, ClosingStatements.scan(buf) { KeyScanner.matchAt(buf, $0) })
            }
        } else {
            all = matcher.matches(in: visible)
            if all.isEmpty { return References() }
            let scalars = Array(visible.unicodeScalars)
            let values = scalars.map(\.value)
            closes = ClosingStatements.scan(values) { matcher.anchoredMatch(scalars: scalars, at: $0) }
        }
        if all.isEmpty { return References() }
        var seen = Set<String>()
        var closing: [String] = []
        for k in closes where seen.insert(k).inserted { closing.append(k) }
        var mentions: [String] = []
        for m in all where seen.insert(m.key).inserted { mentions.append(m.key) }
        return References(mentions: mentions, closes: closing)
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
        var needs = false
        for b in text.utf8 where b == 96 || b == 126 { needs = true; break }
        if !needs { return text }
        var bytes = Array(text.utf8)
        maskFences(&bytes)
        maskSpans(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Fenced blocks: a line starting (after up to 3 spaces) with 3+ backticks or tildes, up to a closing
    /// fence of the same character at least as long, or the end of the text.
    static func maskFences(_ b: inout [UInt8]) {
        var lineStart = 0
        var open: (char: UInt8, length: Int, start: Int)? = nil
        while lineStart < b.count {
            var lineEnd = lineStart
            while lineEnd < b.count, b[lineEnd] != 10 { lineEnd += 1 }
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
                    for x in current.start..<lineEnd { if b[x] != 10 { b[x] = 32 } }
                    open = nil
                }
            } else if let f = fence {
                open = (f.0, f.1, lineStart)
            }
            lineStart = lineEnd + 1
        }
        if let current = open {
            for x in current.start..<b.count where b[x] != 10 { b[x] = 32 }
        }
    }

    /// Inline code: a run of n backticks up to the next run of exactly n backticks.
    static func maskSpans(_ b: inout [UInt8]) {
        var i = 0
        while i < b.count {
            guard b[i] == 96 else { i += 1; continue }
            var j = i
            while j < b.count, b[j] == 96 { j += 1 }
            let n = j - i
            var k = j
            var closed = -1
            while k < b.count {
                if b[k] == 96 {
                    var e = k
                    while e < b.count, b[e] == 96 { e += 1 }
                    if e - k == n { closed = e; break }
                    k = e
                } else {
                    k += 1
                }
            }
            if closed < 0 { i = j; continue }
            for x in i..<closed where b[x] != 10 { b[x] = 32 }
            i = closed
        }
    }
}

/// GitLab's closing pattern, with one difference: every key of a list closes
/// ("Closes and A-3"), where GitLab closes only the first.
enum ClosingStatements {
    /// Trigger stems and the endings each may take, longest first.
    static let triggers: [(stem: [UInt8], endings: [[UInt8]])] = [
        (Array("los".utf8), [Array("ing".utf8), Array("es".utf8), Array("ed".utf8), Array("e".utf8)]),        // [Cc]los
        (Array("ix".utf8), [Array("ing".utf8), Array("es".utf8), Array("ed".utf8), []]),                      // [Ff]ix
        (Array("esolv".utf8), [Array("ing".utf8), Array("es".utf8), Array("ed".utf8), Array("e".utf8)]),     // [Rr]esolv
        (Array("mplement".utf8), [Array("ing".utf8), Array("ed".utf8), Array("s".utf8), []]),                // [Ii]mplement
    ]

    /// The keys of every closing statement in `u` (UTF-8 bytes or scalar values); `anchored` finds a key
    /// reference starting exactly at an offset.
    static func scan<C: RandomAccessCollection>(_ u: C, anchored: (Int) -> KeyMatcher.Match?) -> [String]
    where C.Element: FixedWidthInteger, C.Index == Int {
        var out: [String] = []
        var i = u.startIndex
        let n = u.endIndex
        while i < n {
            let c = UInt32(truncatingIfNeeded: u[i]) | 0x20  // lower-case ASCII letters
            let index: Int
            switch c {
            case 99: index = 0   // c
            case 102: index = 1  // f
            case 114: index = 2  // r
            case 105: index = 3  // i
            default: i += 1; continue
            }
            if i > 0 && KeyScanner.isWordByte(UInt32(truncatingIfNeeded: u[i - 1])) { i += 1; continue }
            guard let afterWord = matchTrigger(u, i + 1, triggers[index]) else { i += 1; continue }
            var p = afterWord
            if p < n, u[p] == 58 { p += 1 }  // optional colon
            let spacesStart = p
            while p < n, u[p] == 32 { p += 1 }
            guard p > spacesStart else { i += 1; continue }
            p = skipIssueWord(u, p)
            let (keys, end) = list(u, p, anchored: anchored)
            out.append(contentsOf: keys)
            i = max(end, i + 1)
        }
        return out
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
            if let m = anchored(p) {
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
