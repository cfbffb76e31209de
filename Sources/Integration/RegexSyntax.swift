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
    private let scalars: [Unicode.Scalar]
    private let source: String
    private var pos = 0
    private var captureCount = 0
    private var foldCase = false
    private var dotAll = false
    private var multiLine = false
    private var ungreedy = false

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

    private init(_ pattern: String) {
        self.source = pattern
        self.scalars = Array(pattern.unicodeScalars)
    }

    private var atEnd: Bool { pos >= scalars.count }
    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        pos + offset < scalars.count ? scalars[pos + offset] : nil
    }
    private func text(from start: Int, to end: Int) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars[max(0, start)..<min(end, scalars.count)])
        return String(s)
    }

    private mutating func parseAlternation(depth: Int) throws(RegexSyntaxError) -> RegexNode {
        if depth > 1000 { throw RegexSyntaxError(message: "expression nests too deeply") }
        var branches = [try parseConcat(depth: depth)]
        while peek() == "|" {
            pos += 1
            branches.append(try parseConcat(depth: depth))
        }
        return branches.count == 1 ? branches[0] : .alternate(branches)
    }

    private mutating func parseConcat(depth: Int) throws(RegexSyntaxError) -> RegexNode {
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
    private mutating func parseFlagGroupIfAny() throws(RegexSyntaxError) -> Bool? {
        guard peek() == "(", peek(1) == "?" else { return nil }
        var i = pos + 2
        var flags: [Unicode.Scalar] = []
        while i < scalars.count, "imsU-".unicodeScalars.contains(scalars[i]) { flags.append(scalars[i]); i += 1 }
        guard i < scalars.count, scalars[i] == ")", !flags.isEmpty else { return nil }
        try applyFlags(flags, start: pos, end: i + 1)
        pos = i + 1
        return true
    }

    private mutating func applyFlags(_ flags: [Unicode.Scalar], start: Int, end: Int) throws(RegexSyntaxError) {
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

    private mutating func parseRepetitions(_ atom: RegexNode, atomStart: Int) throws(RegexSyntaxError) -> RegexNode {
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
    private func scanRepeatCount() -> (Int, Int?, Int)? {
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

    private mutating func parseAtom(depth: Int) throws(RegexSyntaxError) -> RegexNode {
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

    private mutating func parseGroup(depth: Int) throws(RegexSyntaxError) -> RegexNode {
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

    private enum Escape {
        case scalar(Unicode.Scalar)
        case set(ScalarSet)
        case assertion(RegexNode)

        func node(foldCase: Bool) -> RegexNode {
            switch self {
            case .scalar(let s): return .literal(s, foldCase: foldCase)
            case .set(let set): return .set(set)
            case .assertion(let n): return n
            }
        }
    }

    private mutating func parseEscape(inClass: Bool) throws(RegexSyntaxError) -> Escape {
        let start = pos
        pos += 1
        guard let c = peek() else { throw RegexSyntaxError(message: "trailing \\") }
        pos += 1
        switch c {
        case "d": return .set(CharacterClasses.digit)
        case "D": return .set(CharacterClasses.digit.inverted)
        case "w": return .set(CharacterClasses.word)
        case "W": return .set(CharacterClasses.word.inverted)
        case "s": return .set(CharacterClasses.space)
        case "S": return .set(CharacterClasses.space.inverted)
        case "t": return .scalar("\t")
        case "n": return .scalar("\n")
        case "r": return .scalar("\r")
        case "f": return .scalar("\u{0C}")
        case "v": return .scalar("\u{0B}")
        case "a": return .scalar("\u{07}")
        case "b" where !inClass: return .assertion(.wordBoundary)
        case "B" where !inClass: return .assertion(.notWordBoundary)
        case "A" where !inClass: return .assertion(.textStart)
        case "z" where !inClass: return .assertion(.textEnd)
        case "x":
            if peek() == "{" {
                pos += 1
                let hexStart = pos
                while let s = peek(), s != "}" { pos += 1 }
                guard peek() == "}", let v = UInt32(text(from: hexStart, to: pos), radix: 16), let s = Unicode.Scalar(v) else {
                    throw RegexSyntaxError(message: "invalid escape sequence: \(text(from: start, to: min(pos + 1, scalars.count)))")
                }
                pos += 1
                return .scalar(s)
            }
            guard let h1 = peek(), let h2 = peek(1), let v = UInt32(String(h1) + String(h2), radix: 16), let s = Unicode.Scalar(v) else {
                throw RegexSyntaxError(message: "invalid escape sequence: \(text(from: start, to: min(pos + 2, scalars.count)))")
            }
            pos += 2
            return .scalar(s)
        case "p", "P":
            let nameStart: Int
            let nameEnd: Int
            if peek() == "{" {
                nameStart = pos + 1
                var i = nameStart
                while i < scalars.count, scalars[i] != "}" { i += 1 }
                guard i < scalars.count else { throw RegexSyntaxError(message: "invalid character class range: \(text(from: start, to: i))") }
                nameEnd = i
                pos = i + 1
            } else {
                guard peek() != nil else { throw RegexSyntaxError(message: "invalid character class range: \(text(from: start, to: pos))") }
                nameStart = pos; nameEnd = pos + 1; pos += 1
            }
            var name = text(from: nameStart, to: nameEnd)
            var negated = c == "P"
            if name.hasPrefix("^") { name.removeFirst(); negated.toggle() }
            guard let set = CharacterClasses.unicode(name) else {
                throw RegexSyntaxError(message: "invalid character class range: \(text(from: start, to: pos))")
            }
            return .set(negated ? set.inverted : set)
        case "0":
            // RE2 accepts octal \0nn only; a lone \0 is NUL.
            return .scalar("\u{0}")
        default:
            if c.isASCII && (c.properties.isAlphabetic || ("1"..."9").contains(c)) {
                throw RegexSyntaxError(message: "invalid escape sequence: \(text(from: start, to: pos))")
            }
            return .scalar(c)
        }
    }

    private mutating func parseClass() throws(RegexSyntaxError) -> ScalarSet {
        let start = pos
        pos += 1
        var negated = false
        if peek() == "^" { negated = true; pos += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard let c = peek() else { throw RegexSyntaxError(message: "missing ]: \(text(from: start, to: scalars.count))") }
            if c == "]" && !first { pos += 1; break }
            first = false
            if c == "[" && peek(1) == ":" {
                var i = pos + 2
                while i + 1 < scalars.count, !(scalars[i] == ":" && scalars[i + 1] == "]") { i += 1 }
                if i + 1 < scalars.count {
                    var name = text(from: pos + 2, to: i)
                    var neg = false
                    if name.hasPrefix("^") { neg = true; name.removeFirst() }
                    guard let set = CharacterClasses.posix(name) else {
                        throw RegexSyntaxError(message: "invalid character class range: \(text(from: pos, to: i + 2))")
                    }
                    ranges.append(contentsOf: (neg ? set.inverted : set).normalizedRanges)
                    pos = i + 2
                    continue
                }
            }
            let loStart = pos
            let lo: Unicode.Scalar
            if c == "\\" {
                switch try parseEscape(inClass: true) {
                case .scalar(let s): lo = s
                case .set(let set): ranges.append(contentsOf: set.normalizedRanges); continue
                case .assertion: throw RegexSyntaxError(message: "invalid escape sequence: \(text(from: loStart, to: pos))")
                }
            } else {
                lo = c; pos += 1
            }
            if peek() == "-", let next = peek(1), next != "]" {
                pos += 1
                let hi: Unicode.Scalar
                if next == "\\" {
                    guard case .scalar(let s) = try parseEscape(inClass: true) else {
                        throw RegexSyntaxError(message: "invalid character class range: \(text(from: loStart, to: pos))")
                    }
                    hi = s
                } else {
                    hi = next; pos += 1
                }
                guard hi.value >= lo.value else {
                    throw RegexSyntaxError(message: "invalid character class range: \(text(from: loStart, to: pos))")
                }
                ranges.append(lo.value...hi.value)
            } else {
                ranges.append(lo.value...lo.value)
            }
        }
        var set = ScalarSet(ranges: ranges, negated: negated)
        if foldCase { set = set.caseFolded }
        return set
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
