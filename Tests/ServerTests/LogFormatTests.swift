import Foundation
import Logging
import Testing

@testable import Server

/// `--log-format`: whatever a value holds (spaces, quotes, newlines, a 25 MB line from a forge), a log event is one
/// line that a logfmt or JSON reader takes back whole.
@Suite("Log formats")
struct LogFormatTests {
    static let hostile = "two words \"quoted\" a=b back\\slash\nnew line\r\t\u{01}"

    func line(_ format: LogFormat, message: String = "m", _ metadata: Logger.Metadata) -> String {
        BridgeLogHandler.line(format: format, label: "jira-bridge", level: .notice, message: message, metadata: metadata, source: "Server")
    }

    @Test("logfmt quotes what needs it and escapes the rest; a bare value stays bare")
    func logfmt() {
        let text = line(.logfmt, message: "webhook accepted", ["event_id": "e1", "odd": .string(Self.hostile), "empty": ""])
        #expect(!text.contains("\n") && !text.contains("\r"))
        #expect(text.contains(" msg=\"webhook accepted\" "))
        #expect(text.contains(" event_id=e1"))
        #expect(text.contains(" empty=\"\""))
        #expect(text.contains(#" odd="two words \"quoted\" a=b back\\slash\nnew line\r\t\u0001""#), "\(text)")
        #expect(text.hasPrefix("ts=") && text.contains(" level=notice logger=jira-bridge "))
    }

    @Test("JSON lines parse back to the same values, Hummingbird's request id named request_id, reserved keys not doubled")
    func json() throws {
        let text = line(.json, message: Self.hostile, ["hb.request.id": "42", "odd": .string(Self.hostile), "msg": "clash", "list": ["a", "b"]])
        #expect(!text.contains("\n"))
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(doc["msg"] as? String == Self.hostile)
        #expect(doc["odd"] as? String == Self.hostile)
        #expect(doc["request_id"] as? String == "42" && doc["hb.request.id"] == nil)
        #expect(doc["list"] as? [String] == ["a", "b"])
        #expect(doc["level"] as? String == "notice" && (doc["ts"] as? String)?.hasSuffix("Z") == true)
    }

    @Test("the text format keeps one event on one line too")
    func text() {
        let text = line(.text, message: "first\nsecond", ["hb.request.id": "7", "reason": "two words"])
        #expect(!text.contains("\n"))
        #expect(text.contains("notice jira-bridge: first\\nsecond reason=\"two words\" request_id=7 [Server]"), "\(text)")
    }

    @Test("the time is UTC with milliseconds, and matches Foundation's reading of the same moment to the second")
    func timestamp() throws {
        let before = Date()
        let text = BridgeLogHandler.timestamp()
        #expect(text.count == 24 && text.hasSuffix("Z"), "\(text)")
        let parsed = try #require(try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
        #expect(abs(parsed.timeIntervalSince(before)) < 2)
    }

    @Test("a 25 MB value is written as one line")
    func large() throws {
        let big = String(repeating: "x y", count: 25 << 20 / 3)
        let text = line(.json, ["body": .string(big)])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect((doc["body"] as? String)?.count == big.count)
    }
}
