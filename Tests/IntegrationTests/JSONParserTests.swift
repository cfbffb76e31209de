import Foundation
import Integration
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    /// Every document the core's fixtures hold (real scanner reports, commit messages of the corpus as
    /// JSON Lines) reads as Foundation's `JSONDecoder` reads it.
    @Test("real documents read exactly as JSONDecoder reads them")
    func sameAsFoundation() throws {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        var documents: [Data] = []
        for case let url as URL in FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)! {
            if url.pathExtension == "json" { documents.append(try Data(contentsOf: url)) }
            if url.pathExtension == "jsonl" {
                documents += try Data(contentsOf: url).split(separator: 0x0A).map { Data($0) }
            }
        }
        #expect(documents.count > 100)
        for document in documents {
            let expected = try JSONDecoder().decode(JSONValue.self, from: document)
            #expect(try JSONValue.parse(document) == expected)
        }
    }

    @Test(
        "escapes, surrogate pairs, numbers and nesting",
        arguments: [
            (#"{"a":"x\"y\\z\/\b\f\n\r\t"}"#, JSONValue.object(["a": .string("x\"y\\z/\u{8}\u{c}\n\r\t")])),
            (#"["\u00e9\u4e2d\ud83d\ude00", "\u0000"]"#, .array([.string("é中😀"), .string("\u{0}")])),
            (
                #" [0, -1, 1.5, -0.25e2, 1E3, 9007199254740993] "#,
                .array([.number(0), .number(-1), .number(1.5), .number(-25), .number(1000), .number(9007199254740993)])
            ),
            (
                #"{"nested":{"deeper":[[],{}]},"t":true,"f":false,"n":null}"#,
                .object(["nested": .object(["deeper": .array([.array([]), .object([:])])]), "t": .bool(true), "f": .bool(false), "n": .null])
            ),
            (#""just a string""#, .string("just a string")),
        ])
    func values(text: String, expected: JSONValue) throws {
        #expect(try JSONValue.parse(text) == expected)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == expected)
    }

    @Test(
        "what is not JSON is an error, never a trap",
        arguments: [
            "", " ", "{", "[1,]", "{\"a\":1,}", "{a:1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "[+1]", "[1e400]", "[-1e400]",
            "\"abc", "\"a\u{1}b\"", "\"\\x\"", "\"\\u12\"", "\"\\ud83d\"", "\"\\ude00\"", "[true false]", "tru", "nul",
            "[1] [2]", "// comment\n1", "[NaN]", "[Infinity]", "{\"a\" 1}",
        ])
    func refused(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
        // Foundation's decoder accepts a trailing comma, which RFC 8259 does not.
        if !text.contains(",]") && !text.contains(",}") {
            #expect(throws: (any Error).self) { try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }
        }
    }

    @Test("invalid UTF-8 in a string, and nesting past the limit, are errors")
    func hostile() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xFF, 0xFE, 0x22]) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        let limit = String(repeating: "[", count: JSONValue.maxDepth) + String(repeating: "]", count: JSONValue.maxDepth)
        #expect((try? JSONValue.parse(limit)) != nil)
    }
}

@Suite("JSON member reader and writer")
struct JSONMemberReaderTests {
    func read(_ text: String) -> (text: String?, value: JSONValue?)? {
        var reader = JSONMemberReader(text: "message", value: "id")
        return Array(text.utf8).withUnsafeBufferPointer { buffer in
            try? reader.read(buffer) { message, id in (message.map { String(decoding: $0, as: UTF8.self) }, id) }
        }
    }

    /// The member reader must answer what a full parse answers, on every line of the corpus sample and on
    /// the cases below: the same text, the same value, the same refusals.
    @Test("it agrees with JSONValue.parse on the corpus sample and on hostile lines")
    func agreesWithParse() throws {
        let url = try #require(Bundle.module.url(forResource: "commit-messages-sample", withExtension: "jsonl", subdirectory: "Fixtures"))
        var lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
        lines += [
            "null", "[1]", "\"x\"", "{}", #"{"message": 1}"#, #"{"message": "a", "message": 2}"#, #"{"message": 2, "message": "b\n"}"#,
            #"{"id": {"deep": [1, {"x": null}]}, "message": "\u00e9\ud83d\ude00"}"#, #"{"message": "\ud800"}"#, #"{"message": "x"} 1"#,
            #"{"message": "x",}"#, #"{"message" "x"}"#, #"{"id": 1e400, "message": "x"}"#, #"{"message": "a\"b", "id": "q\\"}"#,
            String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
            #"{"x": "# + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + #", "message": "m"}"#,
        ]
        for line in lines {
            let parsed = try? JSONValue.parse(line)
            let expected = parsed.map { ($0["message"]?.string, $0["id"]) }
            let got = read(line)
            #expect(got?.text == expected?.0 && got?.value == expected?.1, "\(line.prefix(80))")
        }
    }

    @Test("UTF-8 validation agrees with the standard library on every short sequence and on random bytes")
    func utf8Validation() {
        var generator = SystemRandomNumberGenerator()
        var cases: [[UInt8]] = []
        for a in 0...255 { cases.append([UInt8(a)]); cases.append([UInt8(a), 0x80]); cases.append([UInt8(a), 0xBF, 0x80]) }
        for lead in [0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xC0, 0xC2] as [UInt8] {
            for second in stride(from: 0x70, through: 0xC0, by: 0x08) { cases.append([lead, UInt8(second), 0x80, 0x80]) }
        }
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...24, using: &generator)
            cases.append(
                (0..<length).map { _ in
                    Bool.random(using: &generator) ? UInt8.random(in: 0...0x7F, using: &generator) : UInt8.random(in: 0x80...0xFF, using: &generator)
                })
        }
        for bytes in cases {
            // Inside a JSON string (quotes, backslashes and control characters left out): the document parses
            // exactly when the bytes are valid UTF-8.
            let content = bytes.filter { $0 != 0x22 && $0 != 0x5C && $0 >= 0x20 }
            let document = Array(#"{"message": ""#.utf8) + content + Array(#""}"#.utf8)
            let standard = String(validating: content, as: UTF8.self) != nil
            #expect(((try? JSONValue.parse(document)) != nil) == standard, "\(content)")
            #expect((read(String(decoding: document, as: UTF8.self)) != nil) == true)  // repaired text is valid
        }
    }

    @Test("the writer's text reads back to the same value, escapes and control characters included")
    func writerRoundTrip() throws {
        let value: JSONValue = .object([
            "s": .string("quote \" backslash \\ slash / newline \n tab \t bell \u{7} nul \u{0} é 😀"), "n": .number(-12.5),
            "i": .number(9_007_199_254_740_992),
            "b": .bool(true), "z": .null, "a": .array([.string(""), .object([:]), .array([])]),
        ])
        var writer = JSONWriter()
        writer.value(value)
        #expect(try JSONValue.parse(writer.bytes) == value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(writer.bytes)) == value)
        #expect(writer.text.hasPrefix(#"{"a":["#))  // keys in order, as the API always answered
        var odd = JSONWriter()
        odd.value(.array([.number(.infinity), .number(-.infinity), .number(.nan), .number(1e-7)]))
        #expect(odd.text == "[null,null,null,1e-07]")
        #expect(try JSONValue.parse(odd.bytes) == .array([.null, .null, .null, .number(1e-7)]))
    }
}
