/// A parsed regular expression in RE2's syntax: the subset that can always be matched in linear time.
///
/// GitLab validates `jira_issue_regex` and `jira_issue_prefix` as RE2 ("untrusted regexp"), so a user
/// cannot save a pattern that needs backtracking. The same tree is what the linear-time matcher runs.
public indirect enum RegexNode: Sendable, Equatable {
    case empty
    case literal(Unicode.Scalar, foldCase: Bool)
    case any(matchesNewline: Bool)
    case set(ScalarSet)
    case lineStart, lineEnd, textStart, textEnd
    case wordBoundary, notWordBoundary
    case concat([RegexNode])
    case alternate([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?, greedy: Bool)
    case group(RegexNode, capture: Int?, name: String?)
}

/// A set of Unicode scalars as sorted closed ranges, possibly negated.
public struct ScalarSet: Sendable, Equatable {
    public var ranges: [ClosedRange<UInt32>]
    public var negated: Bool

    public init(ranges: [ClosedRange<UInt32>], negated: Bool = false) {
        self.ranges = ranges
        self.negated = negated
    }

    public func contains(_ value: UInt32) -> Bool {
        var inside = false
        for r in ranges where r.contains(value) { inside = true; break }
        return inside != negated
    }
}

/// A pattern RE2 would refuse, with RE2's wording (`missing ): (abc`, `invalid perl operator: (?=`).
public struct RegexSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}

/// Parses RE2 syntax into a `RegexNode`, refusing what RE2 refuses: back-references, look-around,
/// atomic groups, possessive quantifiers and repeat counts above 1000.
public struct RegexParser {
    let scalars: [Unicode.Scalar]
    let source: String
    var pos = 0
    var captureCount = 0
    var foldCase = false
    var dotAll = false
    var multiLine = false
    var ungreedy = false

    public static let maxRepeat = 1000

    /// Parses `pattern`; the result also tells how many capture groups there are and their names.
    public static func parse(_ pattern: String) throws(RegexSyntaxError) -> ParsedRegex {
        var parser = RegexParser(pattern)
        let node = try parser.parseAlternation(depth: 0)
        if parser.pos < parser.scalars.count {
            // Only an unmatched `)` stops the top level early.
            throw RegexSyntaxError(message: "unexpected ): \(pattern)")
        }
        return ParsedRegex(root: node, captureCount: parser.captureCount)
    }

    init(_ pattern: String) {
        self.source = pattern
        self.scalars = Array(pattern.unicodeScalars)
    }

    var atEnd: Bool { pos >= scalars.count }
    func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        pos + offset < scalars.count ? scalars[pos + offset] : nil
    }
    func text(from start: Int, to end: Int) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars[max(0, start)..<min(end, scalars.count)])
        return String(s)
    }

    mutating func parseAlternation(depth: Int) throws(RegexSyntaxError) -> RegexNode {
        if depth > 1000 { throw RegexSyntaxError(message: "expression nests too deeply") }
        var branches = [try parseConcat(depth: depth)]
        while peek() == "|" {
            pos += 1
            branches.append(try parseConcat(depth: depth))
        }
        return branches.count == 1 ? branches[0] : .alternate(branches)
    }

    mutating func parseConcat(depth: Int) throws(RegexSyntaxError) -> RegexNode {
        var items: [RegexNode] = []
        while let c = peek(), c != "|", c != ")" {
            let start = pos
            if let flagsOnly = try parseFlagGroupIfAny() {
                if flagsOnly { continue }
            }
            var atom = try parseAtom(depth: depth)
            atom = try parseRepetitions(atom, atomStart: start)
            items.append(atom)
        }
        if items.isEmpty { return .empty }
        return items.count == 1 ? items[0] : .concat(items)
    }

    /// Handles `(?i)`-style flag settings that apply to the rest of the group. Returns true when consumed.
    mutating func parseFlagGroupIfAny() throws(RegexSyntaxError) -> Bool? {
        guard peek() == "(", peek(1) == "?" else { return nil }
        var i = pos + 2
        var flags: [Unicode.Scalar] = []
        while i < scalars.count, "imsU-".unicodeScalars.contains(scalars[i]) { flags.append(scalars[i]); i += 1 }
        guard i < scalars.count, scalars[i] == ")", !flags.isEmpty else { return nil }
        try applyFlags(flags, start: pos, end: i + 1)
        pos = i + 1
        return true
    }

    mutating func applyFlags(_ flags: [Unicode.Scalar], start: Int, end: Int) throws(RegexSyntaxError) {
        var negate = false
        var sawFlag = false
        for f in flags {
            switch f {
            case "-":
                if negate { throw RegexSyntaxError(message: "invalid or unsupported Perl syntax: \(text(from: start, to: end))") }
                negate = true; sawFlag = false
            case "i": foldCase = !negate; sawFlag = true
            case "s": dotAll = !negate; sawFlag = true
            case "m": multiLine = !negate; sawFlag = true
            case "U": ungreedy = !negate; sawFlag = true
            default: break
            }
        }
        if negate && !sawFlag { throw RegexSyntaxError(message: "invalid or unsupported Perl syntax: \(text(from: start, to: end))") }
    }

    mutating func parseRepetitions(_ atom: RegexNode, atomStart: Int) throws(RegexSyntaxError) -> RegexNode {
        var node = atom
        var repeated = false
        while let c = peek() {
            let opStart = pos
            var minCount = 0
            var maxCount: Int? = nil
            switch c {
            case "*": minCount = 0; maxCount = nil; pos += 1
            case "+": minCount = 1; maxCount = nil; pos += 1
            case "?": minCount = 0; maxCount = 1; pos += 1
            case "{":
                guard let (lo, hi, end) = scanRepeatCount() else { return node }
                if lo > RegexParser.maxRepeat || (hi ?? 0) > RegexParser.maxRepeat || (hi != nil && hi! < lo) {
                    throw RegexSyntaxError(message: "invalid repeat count: \(text(from: opStart, to: end))")
                }
                minCount = lo; maxCount = hi; pos = end
            default:
                return node
            }
            if repeated {
                throw RegexSyntaxError(message: "bad repetition operator: \(text(from: opStart - 1, to: pos))")
            }
            if case .empty = node, atomStart == opStart {
                throw RegexSyntaxError(message: "missing argument to repetition operator: \(text(from: opStart, to: pos))")
            }
            var greedy = !ungreedy
            if peek() == "?" { greedy.toggle(); pos += 1 }
            node = .repetition(node, min: minCount, max: maxCount, greedy: greedy)
            repeated = true
            if let next = peek(), next == "*" || next == "+" || next == "?" {
                throw RegexSyntaxError(message: "bad repetition operator: \(text(from: opStart, to: pos + 1))")
            }
        }
        return node
    }

    /// Reads `{n}`, `{n,}` or `{n,m}` at the cursor without consuming it; nil if it is a literal `{`.
    func scanRepeatCount() -> (Int, Int?, Int)? {
        var i = pos + 1
        func number(_ i: inout Int) -> Int? {
            var value = 0
            var digits = 0
            while i < scalars.count, let d = Int(String(scalars[i])), scalars[i].isASCII {
                value = min(value * 10 + d, 100_000)
                digits += 1; i += 1
            }
            return digits > 0 ? value : nil
        }
        guard let lo = number(&i) else { return nil }
        var hi: Int? = lo
        if i < scalars.count, scalars[i] == "," {
            i += 1
            hi = number(&i)
        }
        guard i < scalars.count, scalars[i] == "}" else { return nil }
        return (lo, hi, i + 1)
    }

    mutating func parseAtom(depth: Int) throws(RegexSyntaxError) -> RegexNode {
        let c = scalars[pos]
        switch c {
        case "*", "+", "?":
            throw RegexSyntaxError(message: "missing argument to repetition operator: \(c)")
        case "(":
            return try parseGroup(depth: depth)
        case "[":
            return .set(try parseClass())
        case ".":
            pos += 1
            return .any(matchesNewline: dotAll)
        case "^":
            pos += 1
            return multiLine ? .lineStart : .textStart
        case "$":
            pos += 1
            return multiLine ? .lineEnd : .textEnd
        case "\\":
            return try parseEscape(inClass: false).node(foldCase: foldCase)
        case "{":
            if scanRepeatCount() != nil {
                throw RegexSyntaxError(message: "missing argument to repetition operator: \(text(from: pos, to: scanRepeatCount()!.2))")
            }
            pos += 1
            return .literal(c, foldCase: foldCase)
        default:
            pos += 1
            return .literal(c, foldCase: foldCase)
        }
    }

    mutating func parseGroup(depth: Int) throws(RegexSyntaxError) -> RegexNode {
        let start = pos
        pos += 1
        var capture: Int? = nil
        var name: String? = nil
        let saved = (foldCase, dotAll, multiLine, ungreedy)
        if peek() == "?" {
            if peek(1) == "P" && peek(2) == "<" || peek(1) == "<" && peek(2) != "=" && peek(2) != "!" {
                pos += peek(1) == "P" ? 3 : 2
                let nameStart = pos
                while let s = peek(), s != ">" { pos += 1 }
                guard peek() == ">" else { throw RegexSyntaxError(message: "invalid named capture group: \(text(from: start, to: pos))") }
                let n = text(from: nameStart, to: pos)
                guard !n.isEmpty, n.unicodeScalars.allSatisfy({ $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }) else {
                    throw RegexSyntaxError(message: "invalid named capture group: \(text(from: start, to: pos + 1))")
                }
                pos += 1
                captureCount += 1
                capture = captureCount
                name = n
            } else {
                var i = pos + 1
                var flags: [Unicode.Scalar] = []
                while i < scalars.count, "imsU-".unicodeScalars.contains(scalars[i]) { flags.append(scalars[i]); i += 1 }
                if i < scalars.count, scalars[i] == ":" {
                    try applyFlags(flags, start: start, end: i + 1)
                    pos = i + 1
                } else {
                    let end = min(scalars.count, pos + 2)
                    throw RegexSyntaxError(message: "invalid or unsupported Perl syntax: \(text(from: start, to: end))")
                }
            }
        } else {
            captureCount += 1
            capture = captureCount
        }
        let inner = try parseAlternation(depth: depth + 1)
        guard peek() == ")" else {
            throw RegexSyntaxError(message: "missing ): \(source)")
        }
        pos += 1
        (foldCase, dotAll, multiLine, ungreedy) = saved
        return .group(inner, capture: capture, name: name)
    }
}

/// The result of parsing: the tree and the number of capture groups.
public struct ParsedRegex: Sendable, Equatable {
    public let root: RegexNode
    public let captureCount: Int

    /// The index of the capture group with this name, if any.
    public func captureIndex(named name: String) -> Int? {
        func find(_ n: RegexNode) -> Int? {
            switch n {
            case .group(let inner, let cap, let nm):
                if nm == name { return cap }
                return find(inner)
            case .concat(let xs), .alternate(let xs):
                for x in xs { if let f = find(x) { return f } }
                return nil
            case .repetition(let inner, _, _, _):
                return find(inner)
            default:
                return nil
            }
        }
        return find(root)
    }
}
