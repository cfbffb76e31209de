/// The character classes RE2 knows: Perl (`\d \w \s`), POSIX (`[:alpha:]`) and a few Unicode ones.
enum CharacterClasses {
    static let digit = ScalarSet(ranges: [48...57])
    static let word = ScalarSet(ranges: [48...57, 65...90, 95...95, 97...122])
    static let space = ScalarSet(ranges: [9...10, 12...13, 32...32])

    static func posix(_ name: String) -> ScalarSet? {
        switch name {
        case "alnum": return ScalarSet(ranges: [48...57, 65...90, 97...122])
        case "alpha": return ScalarSet(ranges: [65...90, 97...122])
        case "ascii": return ScalarSet(ranges: [0...127])
        case "blank": return ScalarSet(ranges: [9...9, 32...32])
        case "cntrl": return ScalarSet(ranges: [0...31, 127...127])
        case "digit": return digit
        case "graph": return ScalarSet(ranges: [33...126])
        case "lower": return ScalarSet(ranges: [97...122])
        case "print": return ScalarSet(ranges: [32...126])
        case "punct": return ScalarSet(ranges: [33...47, 58...64, 91...96, 123...126])
        case "space": return ScalarSet(ranges: [9...13, 32...32])
        case "upper": return ScalarSet(ranges: [65...90])
        case "word": return word
        case "xdigit": return ScalarSet(ranges: [48...57, 65...70, 97...102])
        default: return nil
        }
    }

    /// Unicode general categories by their one-letter names, approximated by scalar properties
    /// at match time is too slow; these cover the ranges users put in key patterns.
    static func unicode(_ name: String) -> ScalarSet? {
        switch name {
        case "L", "Letter":
            return ScalarSet(ranges: [
                65...90, 97...122, 0xAA...0xAA, 0xB5...0xB5, 0xBA...0xBA, 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x2FF, 0x370...0x3FF, 0x400...0x52F,
            ])
        case "Lu": return ScalarSet(ranges: [65...90, 0xC0...0xD6, 0xD8...0xDE])
        case "Ll": return ScalarSet(ranges: [97...122, 0xDF...0xF6, 0xF8...0xFF])
        case "N", "Nd": return digit
        case "Greek": return ScalarSet(ranges: [0x370...0x3FF])
        case "Latin": return ScalarSet(ranges: [65...90, 97...122, 0xC0...0x24F])
        case "Cyrillic": return ScalarSet(ranges: [0x400...0x4FF])
        case "Han": return ScalarSet(ranges: [0x4E00...0x9FFF])
        default: return nil
        }
    }
}

extension ScalarSet {
    /// The same set as positive ranges, so it can be merged into a bracket class.
    var normalizedRanges: [ClosedRange<UInt32>] {
        guard negated else { return ranges }
        return inverted.ranges
    }

    /// The complement, as positive ranges over all of Unicode.
    var inverted: ScalarSet {
        if negated { return ScalarSet(ranges: ranges, negated: false) }
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in sorted {
            if r.lowerBound > next { result.append(next...(r.lowerBound - 1)) }
            if r.upperBound >= next { next = r.upperBound &+ 1 }
            if next == 0 { return ScalarSet(ranges: result) }
        }
        if next <= 0x10FFFF { result.append(next...0x10FFFF) }
        return ScalarSet(ranges: result)
    }

    /// Adds the other ASCII case of every ASCII letter in the set, for `(?i)`.
    var caseFolded: ScalarSet {
        var extra: [ClosedRange<UInt32>] = []
        for r in ranges {
            let upper = r.clamped(to: 65...90)
            if !upper.isEmpty { extra.append((upper.lowerBound + 32)...(upper.upperBound + 32)) }
            let lower = r.clamped(to: 97...122)
            if !lower.isEmpty { extra.append((lower.lowerBound - 32)...(lower.upperBound - 32)) }
        }
        return ScalarSet(ranges: ranges + extra, negated: negated)
    }
}
