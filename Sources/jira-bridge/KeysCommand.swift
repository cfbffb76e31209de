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
        let input = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4)
        var extraction: Duration = .zero
        let clock = ContinuousClock()
        var failures = 0
        if jsonl {
            var lineNumber = 0
            var start = 0
            // Line by line over the bytes: no copies of the input, no per-line allocation but the parsed value.
            while start <= input.count {
                let end = input[start...].firstIndex(of: 0x0A) ?? input.count
                defer { start = end + 1 }
                lineNumber += 1
                let line = input[start..<end]
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
                guard let object = try? JSONValue.parse(line), let message = object["message"]?.string else {
                    FileHandle.standardError.write(Data("jira-bridge: error: line \(lineNumber): expected a JSON object with a string \"message\"\n".utf8))
                    failures += 1
                    continue
                }
                let began = clock.now
                let refs = extractor.extract(message)
                extraction += clock.now - began
                KeysOutput.append(id: object["id"], refs: refs, to: &output)
            }
        } else {
            let message = String(decoding: input, as: UTF8.self)
            let began = clock.now
            let refs = extractor.extract(message)
            extraction += clock.now - began
            KeysOutput.append(id: nil, refs: refs, to: &output)
        }
        FileHandle.standardOutput.write(Data(output))
        if stats {
            let seconds = Double(extraction.components.seconds) + Double(extraction.components.attoseconds) / 1e18
            let mb = Double(input.count) / 1_000_000
            FileHandle.standardError.write(Data(String(format: "bytes=%d extraction_seconds=%.4f extraction_mb_per_s=%.1f\n",
                                                       input.count, seconds, seconds > 0 ? mb / seconds : 0).utf8))
        }
        if failures > 0 { throw ExitCode(1) }
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

    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(0x22)
        for b in s.utf8 {
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20: out.append(contentsOf: String(format: "\\u%04x", b).utf8)
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}
