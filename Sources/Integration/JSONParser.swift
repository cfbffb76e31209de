/// A JSON reader that builds `JSONValue`s straight from the bytes (RFC 8259), for Jira's answers and the
/// other documents read loosely. Foundation's `JSONDecoder` builds the same values through `Codable`, which
/// tries each type in turn and records a coding path for every try: for Jira's issue documents that was a
/// fifth of a delivery's CPU (BENCHMARKS.md, "Jira requests per delivery").
///
/// Strict: one value with only whitespace around it, no trailing commas, no comments, strings valid UTF-8
/// with valid escapes, numbers as the grammar spells them and finite as doubles. Nesting is limited, so a
/// hostile document of a million `[` is an error, not a stack overflow.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

extension JSONValue {
    /// The deepest nesting of arrays and objects accepted.
    public static let maxDepth = 512

    /// Parses one JSON document.
    public static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(JSONParseError) -> JSONValue {
        // Contiguous bytes (Data, arrays and their slices) are read in place; others are copied once.
        if let result = bytes.withContiguousStorageIfAvailable({ buffer in Result { () throws(JSONParseError) in try parse(buffer: buffer) } }) {
            return try result.get()
        }
        return try Array(bytes).withUnsafeBufferPointer { buffer throws(JSONParseError) in try parse(buffer: buffer) }
    }

    /// Parses one JSON document from bytes in memory.
    public static func parse(buffer: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        var reader = JSONReader(bytes: buffer)
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.index == buffer.count else { throw reader.error("unexpected text after the value") }
        return value
    }

    /// Parses one JSON document from text.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue { try parse(Array(text.utf8)) }
}

/// One text member and one value member of a JSON object, read without building the rest: `keys --jsonl`
/// reads `message` and `id` of each line this way. The whole document is checked as `JSONValue.parse`
/// checks it, and when a name repeats, the last member counts, as in a parsed object.
public struct JSONMemberReader {
    public let textName: String
    public let valueName: String
    /// The last text member's bytes when it had escapes (otherwise they are read in place).
    private var unescaped: [UInt8] = []

    public init(text textName: String, value valueName: String) {
        self.textName = textName
        self.valueName = valueName
    }

    /// Calls `body` with the text member's UTF-8 bytes (nil when it is missing or not a string) and the
    /// value member (nil when missing).
    public mutating func read<R>(
        _ document: UnsafeBufferPointer<UInt8>,
        _ body: (UnsafeBufferPointer<UInt8>?, JSONValue?) -> R
    ) throws(JSONParseError) -> R {
        var reader = JSONReader(bytes: document)
        reader.skipWhitespace()
        guard reader.index < document.count, document[reader.index] == UInt8(ascii: "{") else {
            _ = try reader.value(depth: 0)  // any other document: checked, and it has no members
            reader.skipWhitespace()
            guard reader.index == document.count else { throw reader.error("unexpected text after the value") }
            return body(nil, nil)
        }
        reader.index += 1
        var text: Range<Int>?? = nil  // .some(nil): the last one had escapes
        var value: JSONValue?
        reader.skipWhitespace()
        if reader.index < document.count, document[reader.index] == UInt8(ascii: "}") {
            reader.index += 1
        } else {
            while true {
                reader.skipWhitespace()
                guard reader.index < document.count, document[reader.index] == UInt8(ascii: "\"") else {
                    throw reader.error("an object key must be a string")
                }
                let key = try reader.string()
                reader.skipWhitespace()
                guard reader.index < document.count, document[reader.index] == UInt8(ascii: ":") else {
                    throw reader.error("expected ':' after an object key")
                }
                reader.index += 1
                reader.skipWhitespace()
                if key == textName, reader.index < document.count, document[reader.index] == UInt8(ascii: "\"") {
                    let start = reader.index + 1
                    let plain = try reader.rawString(unescaped: &unescaped)
                    let valid =
                        plain.map { UTF8Validation.isValid(UnsafeBufferPointer(rebasing: document[$0])) }
                        ?? unescaped.withUnsafeBufferPointer { UTF8Validation.isValid($0) }
                    guard valid else { throw JSONParseError(offset: start, reason: "a string is not valid UTF-8") }
                    text = .some(plain)
                } else if key == textName {
                    _ = try reader.value(depth: 1)
                    text = nil
                } else if key == valueName {
                    value = try reader.value(depth: 1)
                } else {
                    _ = try reader.value(depth: 1)
                }
                reader.skipWhitespace()
                guard reader.index < document.count else { throw reader.error("the document ends inside an object") }
                if document[reader.index] == UInt8(ascii: ",") { reader.index += 1; continue }
                if document[reader.index] == UInt8(ascii: "}") { reader.index += 1; break }
                throw reader.error("expected ',' or '}' in an object")
            }
        }
        reader.skipWhitespace()
        guard reader.index == document.count else { throw reader.error("unexpected text after the value") }
        switch text {
        case .none: return body(nil, value)
        case .some(.some(let range)): return body(UnsafeBufferPointer(rebasing: document[range]), value)
        case .some(.none): return unescaped.withUnsafeBufferPointer { body($0, value) }
        }
    }
}

struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw error("the document ends where a value should be") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end in a literal") }
        for i in 0..<count where bytes[index + i] != word.utf8Start[i] { throw error("unknown literal") }
        index += count
    }

    mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= JSONValue.maxDepth else { throw error("nested deeper than \(JSONValue.maxDepth) levels") }
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("an object key must be a string") }
            let key = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after an object key") }
            index += 1
            skipWhitespace()
            members[key] = try value(depth: depth)
            skipWhitespace()
            guard index < bytes.count else { throw error("the document ends inside an object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            throw error("expected ',' or '}' in an object")
        }
    }

    mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= JSONValue.maxDepth else { throw error("nested deeper than \(JSONValue.maxDepth) levels") }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw error("the document ends inside an array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
            throw error("expected ',' or ']' in an array")
        }
    }

    mutating func number() throws(JSONParseError) -> Double {
        let start = index
        func digits(_ reader: inout JSONReader) -> Int {
            let from = reader.index
            while reader.index < reader.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(reader.bytes[reader.index]) {
                reader.index += 1
            }
            return reader.index - from
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw error("a number ends after '-'") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits(&self) == 0 {
            throw error("a number needs digits")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw error("a number needs digits after '.'") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw error("a number needs digits in its exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw JSONParseError(offset: start, reason: "the number \(text.prefix(40)) is out of range")
        }
        return value
    }

    mutating func string() throws(JSONParseError) -> String {
        let start = index + 1
        var out: [UInt8] = []
        let text: String?
        if let plain = try rawString(unescaped: &out) {
            text = UTF8Validation.string(UnsafeBufferPointer(rebasing: bytes[plain]))
        } else {
            text = out.withUnsafeBufferPointer { UTF8Validation.string($0) }
        }
        guard let text else { throw JSONParseError(offset: start, reason: "a string is not valid UTF-8") }
        return text
    }

    /// Reads a string (the reader at its opening quote) without checking its UTF-8. Without escapes its
    /// bytes are the string: their range is returned. Otherwise the unescaped bytes replace `out`'s, and
    /// the result is nil.
    mutating func rawString(unescaped out: inout [UInt8]) throws(JSONParseError) -> Range<Int>? {
        index += 1  // the opening quote
        let start = index
        // The common case: no escapes, so the bytes are the string.
        index = plainRun(from: index)
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return start..<(index - 1)
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw error("a control character in a string must be escaped") }
            index += 1
        }
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(2 * (index - start) + 64)
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            // Copy the run up to the next quote, backslash or control character at once.
            var end = plainRun(from: index)
            while end < bytes.count {
                let byte = bytes[end]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                end += 1
            }
            if end > index {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<end]))
                index = end
            }
            guard index < bytes.count else { break }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return nil
            }
            guard byte == UInt8(ascii: "\\") else { throw error("a control character in a string must be escaped") }
            index += 1
            guard index < bytes.count else { break }
            let escaped = bytes[index]
            index += 1
            switch escaped {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw error("a high surrogate without its low surrogate")
                    }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("a high surrogate without its low surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("a low surrogate without its high surrogate")
                }
                Self.appendUTF8(scalar, to: &out)
            default:
                throw error("an unknown escape in a string")
            }
        }
        throw error("the document ends inside a string")
    }

    /// Skips eight bytes at a time while none of them is a quote, a backslash or a control character; returns
    /// where the byte-by-byte scan goes on (at most seven bytes before the first such byte).
    @inline(__always)
    func plainRun(from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return start }
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        var i = start
        while i + 8 <= bytes.count {
            let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
            // A byte that is zero in `quote` or `backslash`, or below 0x20 in `word`, sets its high bit here.
            let found = ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (word &- ones &* 0x20) & ~word) & highs
            if found != 0 { break }
            i += 8
        }
        return i
    }

    /// A scalar (not a surrogate) as UTF-8.
    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6)); out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12)); out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18)); out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("a \\u escape needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("a \\u escape needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}

/// UTF-8 validation as RFC 3629 defines it (no overlong forms, no surrogates, nothing above U+10FFFF),
/// eight ASCII bytes at a time. `String(validating:as:)` does the same check but, being generic, looks up
/// type metadata on every call: a tenth of the time of `keys --jsonl`.
enum UTF8Validation {
    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        while i < count {
            // ASCII runs, a word at a time.
            while i + 8 <= count {
                let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
            guard i < count else { return true }
            let lead = base[i]
            if lead < 0x80 { i += 1; continue }
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF  // the range of the byte after the lead
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return false
            }
            guard i + length <= count else { return false }
            let second = base[i + 1]
            guard second >= low && second <= high else { return false }
            for k in 2..<max(2, length) where base[i + k] & 0xC0 != 0x80 { return false }
            i += length
        }
        return true
    }

    /// The bytes as a String, or nil when they are not valid UTF-8.
    static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        isValid(bytes) ? String(decoding: bytes, as: UTF8.self) : nil
    }
}
