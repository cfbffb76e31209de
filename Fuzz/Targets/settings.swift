// Fuzz target: settings bodies (JSON or form data), as PUT .../integrations/jira reads them, then GitLab's
// validation of the result.
import Forges
import Foundation
import Integration

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSettings(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Data(bytes: data, count: size)
    // The first byte picks the content type, as a client would.
    let type = (size > 0 && data[0] & 1 == 1) ? "application/x-www-form-urlencoded" : "application/json"
    guard let params = try? ParameterBody.parameters(body.dropFirst(size > 0 ? 1 : 0), contentType: type, query: []) else { return 0 }
    guard let update = try? SettingsUpdate(parameters: params) else { return 0 }
    let settings = update.applied(to: JiraSettings())
    _ = SettingsValidator(allowLocalRequests: false).validate(settings)
    return 0
}
