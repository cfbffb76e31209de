import Forges
import Foundation
import Hummingbird
import Integration

/// Reads a request body as GitLab's API does: JSON, or form data (`a=1&project_keys[]=X`),
/// with query parameters as a fallback source.
enum RequestParameters {
    static let maxBodyBytes = 1 << 20

    static func read(_ request: Request, context: BridgeRequestContext) async throws -> [String: ParameterValue] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            throw ServiceFailure.tooLarge("413 Request Entity Too Large")
        }
        do {
            return try ParameterBody.parameters(
                Data(buffer.readableBytesView), contentType: request.headers[.contentType] ?? "",
                query: QueryForm(request).pairs)
        } catch {
            throw ServiceFailure.badParameter(error.message)
        }
    }

    static func parseForm(_ text: String) -> [(String, String)] { ParameterBody.formPairs(text) }
}

extension Dictionary where Key == String, Value == ParameterValue {
    func string(_ key: String) -> String? {
        switch self[key] {
        case .string(let s): return s
        case .number(let n): return n.parameterText
        default: return nil
        }
    }

    /// A boolean as Grape coerces one (true/false/1/0, also as text); a value of another kind is a 400 naming it.
    func bool(_ key: String) throws(ServiceFailure) -> Bool? {
        guard let value = self[key] else { return nil }
        guard let b = value.boolValue else { throw ServiceFailure.badParameter("\(key) is invalid") }
        return b
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

    /// A boolean query parameter as Grape reads one (`true`/`false`/`1`/`0`); other text is a 400 naming it.
    func boolean(_ name: String) throws(ServiceFailure) -> Bool? {
        guard let text = get(name) else { return nil }
        guard let value = ParameterValue.string(text).boolValue else { throw ServiceFailure.badParameter("\(name) is invalid") }
        return value
    }

    /// A page's `page` for a list of `perPage` rows: on pages an unreadable number is page 1, not an error.
    func webPage(perPage: Int) -> PageRequest {
        PageRequest(page: (try? PageRequest.wholeNumber(get("page"), name: "page")) ?? 1, perPage: perPage)
    }

    /// `page` and `per_page`, clamped as GitLab does; text that is not a number is a 400 naming it.
    func pageRequest(defaultPerPage: Int = 20) throws(ServiceFailure) -> PageRequest {
        do { return try PageRequest.parse(page: get("page"), perPage: get("per_page"), defaultPerPage: defaultPerPage) } catch {
            throw ServiceFailure.badParameter(error.description)
        }
    }
}
