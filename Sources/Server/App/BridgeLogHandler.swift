import Foundation
import Integration
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How log lines are written (`--log-format`, `JIRA_BRIDGE_LOG_FORMAT`).
public enum LogFormat: String, Sendable, CaseIterable {
    /// For people: `2026-12-04T13:47:12.345Z notice jira-bridge: message key=value key2="two words"`.
    case text
    /// For log systems that read logfmt (Loki, Heroku-style): `ts=... level=notice msg="message" key=value`.
    case logfmt
    /// One JSON object per line: `{"ts":"...","level":"notice","msg":"message","key":"value"}`.
    case json
}

/// The log handler of the server and the commands: one line per event on stderr, in `format`, with every
/// metadata value quoted where it has to be. Hummingbird's request id (`hb.request.id`) is written as `request_id`,
/// the name it has in the answers' `X-Request-Id` header.
public struct BridgeLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let format: LogFormat
    let write: @Sendable (String) -> Void

    public init(label: String, format: LogFormat, level: Logger.Level, write: @escaping @Sendable (String) -> Void = BridgeLogHandler.standardError) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        if let error = event.error, merged["error"] == nil { merged["error"] = "\(error)" }
        write(
            Self.line(format: format, label: label, level: event.level, message: event.message.description, metadata: merged, source: event.source)
                + "\n")
    }

    /// The request id's key as Hummingbird sets it, and as it is written.
    static let hummingbirdRequestID = "hb.request.id"
    public static let requestIDKey = "request_id"

    /// One formatted line, without its newline. Keys are sorted, so lines of one kind read alike.
    static func line(format: LogFormat, label: String, level: Logger.Level, message: String, metadata: Logger.Metadata, source: String) -> String {
        let pairs = metadata.map { (key: $0.key == hummingbirdRequestID ? requestIDKey : $0.key, value: $0.value) }.sorted { $0.key < $1.key }
        let time = timestamp()
        switch format {
        case .text:
            var out = "\(time) \(level) \(label): \(oneLine(message))"
            for (key, value) in pairs { out += " \(key)=\(logfmtValue(flat(value)))" }
            return out + " [\(source)]"
        case .logfmt:
            var out = "ts=\(time) level=\(level) logger=\(logfmtValue(label)) msg=\(logfmtValue(message)) source=\(logfmtValue(source))"
            for (key, value) in pairs where !reserved.contains(key) { out += " \(logfmtKey(key))=\(logfmtValue(flat(value)))" }
            return out
        case .json:
            var out =
                "{\"ts\":\(jsonString(time)),\"level\":\(jsonString("\(level)")),\"logger\":\(jsonString(label)),\"msg\":\(jsonString(message)),\"source\":\(jsonString(source))"
            for (key, value) in pairs where !reserved.contains(key) { out += ",\(jsonString(key)):\(json(value))" }
            return out + "}"
        }
    }

    /// Keys the line itself uses; metadata of those names is left out rather than written twice.
    static let reserved: Set<String> = ["ts", "level", "logger", "msg", "source"]

    /// UTC, with milliseconds: `2026-12-04T14:18:00.517Z`. From the C library's clock and `gmtime_r`, digit by
    /// digit: every request writes a line, and Foundation's date formatting costs several times as much.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = time_t(now.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var out = ""
        out.reserveCapacity(24)
        func digits(_ value: Int, _ width: Int) {
            var text = String(value)
            if text.count < width { text = String(repeating: "0", count: width - text.count) + text }
            out += text
        }
        digits(Int(parts.tm_year) + 1900, 4)
        out += "-"
        digits(Int(parts.tm_mon) + 1, 2)
        out += "-"
        digits(Int(parts.tm_mday), 2)
        out += "T"
        digits(Int(parts.tm_hour), 2)
        out += ":"
        digits(Int(parts.tm_min), 2)
        out += ":"
        digits(Int(parts.tm_sec), 2)
        out += "."
        digits(Int(now.tv_nsec) / 1_000_000, 3)
        out += "Z"
        return out
    }

    static func flat(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): return s
        case .stringConvertible(let c): return c.description
        case .array(let items): return "[" + items.map(flat).joined(separator: ", ") + "]"
        case .dictionary(let d): return "{" + d.sorted { $0.key < $1.key }.map { "\($0.key): \(flat($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    /// A value as logfmt writes it: bare when it has no space, quote, `=` or control character; else quoted, with
    /// `"`, `\` and control characters escaped (so a line is always one line).
    static func logfmtValue(_ text: String) -> String {
        if !text.isEmpty,
            !text.unicodeScalars.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F })
        {
            return text
        }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A key as logfmt allows: anything but spaces, `=` and quotes (replaced by `_`).
    static func logfmtKey(_ key: String) -> String {
        String(key.map { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline ? "_" : $0 })
    }

    /// A message in the text format: its newlines escaped, so one event stays one line.
    static func oneLine(_ text: String) -> String {
        text.contains(where: \.isNewline) ? text.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n") : text
    }

    static func jsonString(_ text: String) -> String {
        var writer = JSONWriter(capacity: text.utf8.count + 2)
        writer.string(text)
        return writer.text
    }

    static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): return jsonString(s)
        case .stringConvertible(let c): return jsonString(c.description)
        case .array(let items): return "[" + items.map(json).joined(separator: ",") + "]"
        case .dictionary(let d):
            return "{" + d.sorted { $0.key < $1.key }.map { jsonString($0.key) + ":" + json($0.value) }.joined(separator: ",") + "}"
        }
    }

    /// Writes to stderr, one whole line at a time whatever the threads.
    public static let standardError: @Sendable (String) -> Void = { line in
        stderrLock.withLock { _ in
            var text = line
            text.withUTF8 { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Glibc.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0 && errno == EINTR {
                        continue
                    } else {
                        return  // stderr is gone: a log line is not worth stopping for
                    }
                }
            }
        }
    }
}

private let stderrLock = Mutex(())

extension String {
    fileprivate func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
