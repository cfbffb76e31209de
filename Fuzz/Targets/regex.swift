// Fuzz target: the RE2 subset of jira_issue_regex (parser, compiler, matcher). The first line is the
// pattern; the rest is the text it is run on.
import Integration

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRegex(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    let pattern = String(parts.first ?? "")
    let subject = parts.count > 1 ? String(parts[1]) : "PROJ-1 closes ABC-12"
    _ = try? RegexParser.parse(pattern)
    if let extractor = try? ReferenceExtractor(prefix: "", regex: pattern) {
        _ = extractor.extract(subject)
        _ = extractor.allKeys(subject)
    }
    if let prefixed = try? ReferenceExtractor(prefix: pattern, regex: "") { _ = prefixed.allKeys(subject) }
    return 0
}
