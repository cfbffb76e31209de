// Fuzz target: the HTML sanitizer, on what Jira's renderer may send; its output must sanitize to itself.
import Integration

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let html = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let links = HTMLSanitizer.Links(base: "https://jira.example.com/jira", refusedOrigin: "https://bridge.example.com")
    let once = HTMLSanitizer.sanitize(html, links: links)
    let twice = HTMLSanitizer.sanitize(once, links: links)
    if once != twice { fatalError("sanitizing is not idempotent:\n\(once)\n\(twice)") }
    if once.lowercased().contains("<script") { fatalError("a script tag survived: \(once)") }
    return 0
}
