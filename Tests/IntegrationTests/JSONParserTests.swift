import Foundation
import Testing
import Integration

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

    @Test("escapes, surrogate pairs, numbers and nesting", arguments: [
        (#"{"a":"x\"y\\z\/\b\f\n\r\t"}"#, JSONValue.object(["a": .string("x\"y\\z/\u{8}\u{c}\n\r\t")])),
        (#"["\u00e9\u4e2d\ud83d\ude00", "\u0000"]"#, .array([.string("é中😀"), .string("\u{0}")])),
        (#" [0, -1, 1.5, -0.25e2, 1E3, 9007199254740993] "#, .array([.number(0), .number(-1), .number(1.5), .number(-25), .number(1000), .number(9007199254740993)])),
        (#"{"nested":{"deeper":[[],{}]},"t":true,"f":false,"n":null}"#,
         .object(["nested": .object(["deeper": .array([.array([]), .object([:])])]), "t": .bool(true), "f": .bool(false), "n": .null])),
        (#""just a string""#, .string("just a string")),
    ])
    func values(text: String, expected: JSONValue) throws {
        #expect(try JSONValue.parse(text) == expected)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == expected)
    }

    @Test("what is not JSON is an error, never a trap", arguments: [
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
