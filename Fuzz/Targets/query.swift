// Fuzz target: query strings and hosts: form pairs, page and per_page, IP literals and CIDR blocks, Jira
// URLs and the web-URL check.
import Forges
import Integration

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQuery(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let pairs = ParameterBody.formPairs(text)
    let page = pairs.last { $0.0 == "page" }?.1
    let perPage = pairs.last { $0.0 == "per_page" }?.1
    if let request = try? PageRequest.parse(page: page, perPage: perPage) {
        _ = request.offset
        _ = request.hasNext(total: Int.max)
        _ = request.pageCount(total: Int.max)
    }
    for (k, v) in pairs {
        _ = AddressPolicy.classifyLiteral(k)
        _ = IPAddress(literal: v)?.addressClass
        _ = IPNetwork(v)
        _ = JiraURL(v)
        _ = EventLimits.isWebURL(v)
        _ = Texts.cut(v, to: 10)
    }
    return 0
}
