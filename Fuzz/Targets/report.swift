// Fuzz target: security reports (GitLab's schemas and SARIF), as POST .../security/reports reads them.
import Foundation
import Integration

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReport(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let json = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes: data, count: size)) else { return 0 }
    if let parsed = try? SecurityReport.parse(json) {
        for finding in parsed.findings {
            _ = VulnerabilityIssueText.summary(finding.title)
            _ = VulnerabilityIssueText.description(finding, id: 1, vulnerabilityURL: "https://bridge.example.com/v/1", blobURL: { "https://gitlab.example.com/blob/\($0)" })
        }
    }
    return 0
}
