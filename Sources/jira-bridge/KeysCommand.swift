import ArgumentParser
import Foundation
import Integration

/// `jira-bridge keys`: prints the Jira keys each commit message mentions and closes, with the
/// integration's prefix and regex, so users can check their settings (and benchmarks can time extraction).
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Print the Jira keys that commit messages on stdin mention and close.",
        discussion: """
            Reads one plain-text message, or with --jsonl one JSON object per line ({"id": ..., "message": "..."}),
            and prints one JSON line per message: {"id": ..., "mentions": [...], "closes": [...]}.
            Closing keys are those a commit on the default branch would close; they are not repeated in mentions.
            """)

    @Option(help: "The integration's jira_issue_prefix.") var prefix = ""
    @Option(help: "The integration's jira_issue_regex.") var regex = ""
    @Flag(help: "Read JSON Lines of {\"id\", \"message\"} instead of one plain message.") var jsonl = false
    @Flag(name: .customLong("stats"), help: "Print the bytes read and the extraction time to stderr.") var stats = false

    func run() throws {
        let extractor: ReferenceExtractor
        do {
            extractor = try ReferenceExtractor(prefix: prefix, regex: regex)
        } catch {
            throw ValidationError("invalid --prefix or --regex: not valid RE2 syntax: \(error.message)")
        }
        var output = KeysSink()
        var extraction: Duration = .zero
        let clock = ContinuousClock()
        var failures = 0
        var bytesRead = 0
        if jsonl {
            var lineNumber = 0
            // The input is read in blocks and handled line by line in place; memory stays at a block (or the
            // longest line) however long the input is.
            var reader = LineReader()
            var members = JSONMemberReader(text: "message", value: "id")
            while let line = reader.next() {
                lineNumber += 1
                let handled: Bool? = line.withUnsafeBufferPointer { buffer in
                    if buffer.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return true }
                    // The message is read in place (or unescaped into one reused buffer) and scanned as bytes.
                    return try? members.read(buffer) { message, id -> Bool in
                        guard let message else { return false }
                        let refs: References
                        if stats {
                            let began = clock.now
                            refs = extractor.extract(utf8: message)
                            extraction += clock.now - began
                        } else {
                            refs = extractor.extract(utf8: message)
                        }
                        KeysOutput.append(id: id, refs: refs, to: &output.bytes)
                        return true
                    }
                }
                if handled != true {
                    FileHandle.standardError.write(Data("jira-bridge: error: line \(lineNumber): expected a JSON object with a string \"message\"\n".utf8))
                    failures += 1
                    continue
                }
                output.flushIfFull()
            }
            bytesRead = reader.bytesRead
        } else {
            let input = FileHandle.standardInput.readDataToEndOfFile()
            bytesRead = input.count
            let message = String(decoding: input, as: UTF8.self)
            let began = clock.now
            let refs = extractor.extract(message)
            extraction += clock.now - began
            KeysOutput.append(id: nil, refs: refs, to: &output.bytes)
        }
        output.flush()
        if stats {
            let seconds = Double(extraction.components.seconds) + Double(extraction.components.attoseconds) / 1e18
            let mb = Double(bytesRead) / 1_000_000
            FileHandle.standardError.write(Data(String(format: "bytes=%d extraction_seconds=%.4f extraction_mb_per_s=%.1f\n",
                                                       bytesRead, seconds, seconds > 0 ? mb / seconds : 0).utf8))
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

/// Standard input line by line, read in blocks of 1 MB into one buffer that grows only for a longer line.
struct LineReader {
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    private var start = 0
    private var filled = 0
    private var atEnd = false
    private(set) var bytesRead = 0

    /// The next line without its newline (the last one also when no newline ends it), or nil at the end.
    mutating func next() -> ArraySlice<UInt8>? {
        while true {
            let found = buffer.withUnsafeBufferPointer { b in memchr(b.baseAddress! + start, 0x0A, filled - start) }
            if let found {
                let newline = buffer.withUnsafeBufferPointer { b in UnsafePointer(found.assumingMemoryBound(to: UInt8.self)) - b.baseAddress! }
                defer { start = newline + 1 }
                return buffer[start..<newline]
            }
            if atEnd {
                guard start < filled else { return nil }
                defer { start = filled }
                return buffer[start..<filled]
            }
            // Keep the partial line: move it to the front, grow if it fills the buffer, read more.
            if start > 0 {
                buffer.withUnsafeMutableBufferPointer { b in
                    _ = memmove(b.baseAddress!, b.baseAddress! + start, filled - start)
                }
                filled -= start
                start = 0
            }
            if filled == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
            let n = buffer.withUnsafeMutableBufferPointer { b in read(0, b.baseAddress! + filled, b.count - filled) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { atEnd = true } else { filled += n; bytesRead += n }
        }
    }
}

/// Standard output, written in blocks of about 256 KB.
struct KeysSink {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1 << 19) }

    mutating func flushIfFull() { if bytes.count >= 1 << 18 { flush() } }

    mutating func flush() {
        bytes.withUnsafeBufferPointer { b in
            var offset = 0
            while offset < b.count {
                let n = write(1, b.baseAddress! + offset, b.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }  // stdout closed: nothing more can be written
                offset += n
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }
}

/// Writes the `keys` JSON lines without a general-purpose encoder.
enum KeysOutput {
    static func append(id: JSONValue?, refs: References, to out: inout [UInt8]) {
        out.append(contentsOf: "{\"id\":".utf8)
        switch id {
        case .string(let s): appendString(s, to: &out)
        case .number(let n): out.append(contentsOf: n.parameterText.utf8)
        default: out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: ",\"mentions\":".utf8)
        appendList(refs.mentions, to: &out)
        out.append(contentsOf: ",\"closes\":".utf8)
        appendList(refs.closes, to: &out)
        out.append(contentsOf: "}\n".utf8)
    }

    static func appendList(_ items: [String], to out: inout [UInt8]) {
        out.append(0x5B)
        for (i, s) in items.enumerated() {
            if i > 0 { out.append(0x2C) }
            appendString(s, to: &out)
        }
        out.append(0x5D)
    }

    static func appendString(_ s: String, to out: inout [UInt8]) { JSONWriter.appendString(s, to: &out) }
}
