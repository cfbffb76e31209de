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
        // Each is checked on its own first, so the error quotes what the user typed, not the pattern built from it.
        for (flag, text) in [("--regex", regex), ("--prefix", prefix)] where !text.isEmpty {
            do { _ = try RegexParser.parse(text) } catch {
                throw ValidationError("invalid \(flag): not valid RE2 syntax: \(error.message)")
            }
        }
        let extractor: ReferenceExtractor
        do {
            extractor = try ReferenceExtractor(prefix: prefix, regex: regex)
        } catch {
            throw ValidationError("invalid --prefix or --regex: together they are not valid RE2 syntax, or the regex has no key to find")
        }
        var output = KeysSink()
        var extraction: Duration = .zero
        let clock = ContinuousClock()
        var failures = 0
        var bytesRead = 0
        if jsonl {
            // The input is read in blocks of whole lines (memory stays at a block, or the longest line, however
            // long the input is). Each block is cut into one part per core at line ends; the parts are read and
            // scanned at once, and their output and errors are written in input order.
            var reader = BlockReader()
            let parts = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))
            var linesBefore = 0
            while let block = reader.next() {
                let results = block.withUnsafeBufferPointer { KeysWork.run(block: $0, parts: parts, extractor: extractor, timed: stats) }
                for result in results {
                    for line in result.failedLines {
                        FileHandle.standardError.write(
                            Data("jira-bridge: error: line \(linesBefore + line): expected a JSON object with a string \"message\"\n".utf8))
                    }
                    failures += result.failedLines.count
                    linesBefore += result.lines
                    extraction += result.extraction
                    output.bytes.append(contentsOf: result.output)
                    output.flushIfFull()
                }
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
            FileHandle.standardError.write(
                Data(
                    String(
                        format: "bytes=%d extraction_seconds=%.4f extraction_mb_per_s=%.1f\n",
                        bytesRead, seconds, seconds > 0 ? mb / seconds : 0
                    ).utf8))
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

/// Standard input in blocks of whole lines: at least 4 MB each (the last one whatever is left), ending
/// with a newline unless the input does not. One buffer, grown only for a line longer than it.
struct BlockReader {
    static let blockBytes = 4 << 20
    private var buffer = [UInt8](repeating: 0, count: 2 * BlockReader.blockBytes)
    private var start = 0
    private var filled = 0
    private var atEnd = false
    private(set) var bytesRead = 0

    mutating func next() -> ArraySlice<UInt8>? {
        while true {
            if filled - start >= Self.blockBytes || atEnd {
                if start == filled { return nil }
                // The last newline, found from the end (it is near it unless lines are long).
                let last = buffer.withUnsafeBufferPointer { b -> Int? in
                    var i = filled - 1
                    while i >= start && b[i] != 0x0A { i -= 1 }
                    return i >= start ? i : nil
                }
                if let last {
                    let end = last + 1
                    defer { start = end }
                    return buffer[start..<end]
                }
                if atEnd {
                    defer { start = filled }
                    return buffer[start..<filled]
                }
            }
            // Move what is left to the front, grow if a line fills the buffer, read more.
            if start > 0 {
                buffer.withUnsafeMutableBufferPointer { b in _ = memmove(b.baseAddress!, b.baseAddress! + start, filled - start) }
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

/// One part of a block of JSON lines, read and scanned: its output lines, the numbers (within the part,
/// from 1) of the lines that are no object with a string `message`, and how many lines it had.
struct KeysWork: Sendable {
    var output: [UInt8] = []
    var failedLines: [Int] = []
    var lines = 0
    var extraction: Duration = .zero

    /// The block cut into `parts` at line ends, each part on a thread of its own.
    static func run(block: UnsafeBufferPointer<UInt8>, parts: Int, extractor: ReferenceExtractor, timed: Bool) -> [KeysWork] {
        var bounds = [0]
        for k in 1..<parts {
            let cut = max(bounds[k - 1], block.count * k / parts)
            let next = cut < block.count ? memchr(block.baseAddress! + cut, 0x0A, block.count - cut) : nil
            bounds.append(next.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - block.baseAddress! + 1 } ?? block.count)
        }
        bounds.append(block.count)
        let results = Results(count: parts)
        let cuts = bounds
        nonisolated(unsafe) let base = block.baseAddress
        DispatchQueue.concurrentPerform(iterations: parts) { k in
            let part = UnsafeBufferPointer(start: base.map { $0 + cuts[k] }, count: cuts[k + 1] - cuts[k])
            results.set(k, KeysWork(part: part, extractor: extractor, timed: timed))
        }
        return results.values
    }

    init(part: UnsafeBufferPointer<UInt8>, extractor: ReferenceExtractor, timed: Bool) {
        output.reserveCapacity(part.count / 4)
        var members = JSONMemberReader(text: "message", value: "id")
        let clock = ContinuousClock()
        var lineStart = 0
        while lineStart < part.count {
            let newline = memchr(part.baseAddress! + lineStart, 0x0A, part.count - lineStart)
            let lineEnd = newline.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - part.baseAddress! } ?? part.count
            let line = UnsafeBufferPointer(rebasing: part[lineStart..<lineEnd])
            lineStart = lineEnd + 1
            lines += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            // The message is read in place (or unescaped into one reused buffer) and scanned as bytes.
            let handled = try? members.read(line) { message, id -> Bool in
                guard let message else { return false }
                let refs: References
                if timed {
                    let began = clock.now
                    refs = extractor.extract(utf8: message)
                    extraction += clock.now - began
                } else {
                    refs = extractor.extract(utf8: message)
                }
                KeysOutput.append(id: id, refs: refs, to: &output)
                return true
            }
            if handled != true { failedLines.append(lines) }
        }
    }

    /// One slot per part, each written by its own thread.
    final class Results: @unchecked Sendable {
        private let slots: UnsafeMutableBufferPointer<KeysWork>
        init(count: Int) {
            slots = .allocate(capacity: count)
            _ = slots.initialize(from: repeatElement(KeysWork(), count: count))
        }
        deinit {
            _ = slots.deinitialize()
            slots.deallocate()
        }
        func set(_ index: Int, _ value: KeysWork) { slots[index] = value }
        var values: [KeysWork] { Array(slots) }
    }

    init() {}
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
