// Escapes and character classes of the RE2 syntax: the lexical half of `RegexParser`.
extension RegexParser {
    enum Escape {
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

    mutating func parseEscape(inClass: Bool) throws(RegexSyntaxError) -> Escape {
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

    mutating func parseClass() throws(RegexSyntaxError) -> ScalarSet {
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
