import Foundation
import Hummingbird
import Integration

/// Reads a request body as GitLab's API does: JSON, or form data (`a=1&project_keys[]=X`),
/// with query parameters as a fallback source.
enum RequestParameters {
    static let maxBodyBytes = 1 << 20

    static func read(_ request: Request, context: BridgeRequestContext) async throws -> [String: ParameterValue] {
        var params: [String: ParameterValue] = [:]
        for (k, v) in QueryForm(request).pairs { merge(&params, key: k, value: .string(v)) }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            throw APIError(.contentTooLarge, message: "413 Request Entity Too Large")
        }
        let data = Data(buffer.readableBytesView)
        if data.isEmpty { return params }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        if contentType.contains("application/x-www-form-urlencoded") {
            for (k, v) in parseForm(String(decoding: data, as: UTF8.self)) { merge(&params, key: k, value: .string(v)) }
            return params
        }
        if contentType.contains("multipart/form-data") {
            throw APIError.badParameter("multipart bodies are not supported; send JSON or application/x-www-form-urlencoded")
        }
        let json: JSONValue
        do {
            json = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw APIError.badParameter("The request body is not valid JSON")
        }
        guard case .object(let object) = json else {
            throw APIError.badParameter("The request body must be a JSON object")
        }
        for (k, v) in object { params[k] = parameterValue(v) }
        return params
    }

    static func parameterValue(_ v: JSONValue) -> ParameterValue {
        switch v {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let n): return .number(n)
        case .string(let s): return .string(s)
        case .array(let a): return .list(a.map(parameterValue))
        case .object:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? encoder.encode(v)).map { .json(String(decoding: $0, as: UTF8.self)) } ?? .other
        }
    }

    /// `key[]` accumulates into a list under `key`; other keys take the last value.
    static func merge(_ params: inout [String: ParameterValue], key: String, value: ParameterValue) {
        if key.hasSuffix("[]") {
            let base = String(key.dropLast(2))
            if case .list(var items) = params[base] {
                items.append(value)
                params[base] = .list(items)
            } else {
                params[base] = .list([value])
            }
        } else {
            params[key] = value
        }
    }

    static func parseForm(_ text: String) -> [(String, String)] {
        text.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
            }
            guard let k = parts.first else { return nil }
            return (decode(k), parts.count > 1 ? decode(parts[1]) : "")
        }
    }
}

extension Dictionary where Key == String, Value == ParameterValue {
    func string(_ key: String) -> String? {
        switch self[key] {
        case .string(let s): return s
        case .number(let n): return n.parameterText
        default: return nil
        }
    }

    func int64(_ key: String) -> Int64? {
        switch self[key] {
        case .number(let n): return n.exactInteger
        case .string(let s): return Int64(s.trimmingWhitespace())
        default: return nil
        }
    }
}

/// A query string read as browsers and GitLab's clients write it (`application/x-www-form-urlencoded`):
/// `+` is a space and names are percent-decoded too (`labels%5B%5D` is `labels[]`).
struct QueryForm: Sendable {
    let pairs: [(String, String)]

    init(_ request: Request) {
        pairs = RequestParameters.parseForm(request.uri.query ?? "")
    }

    /// The last value of `name`.
    func get(_ name: String) -> String? { pairs.last { $0.0 == name }?.1 }
    func getAll(_ name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1) }

    /// A page's `page` for a list of `perPage` rows: on pages an unreadable number is page 1, not an error.
    func webPage(perPage: Int) -> PageRequest {
        PageRequest(page: (try? PageRequest.wholeNumber(get("page"), name: "page")) ?? 1, perPage: perPage)
    }

    /// `page` and `per_page`, clamped as GitLab does; text that is not a number is a 400 naming it.
    func pageRequest(defaultPerPage: Int = 20) throws -> PageRequest {
        do { return try PageRequest.parse(page: get("page"), perPage: get("per_page"), defaultPerPage: defaultPerPage) } catch {
            throw APIError.badParameter(error.description)
        }
    }
}
