import Foundation
import Integration

/// A request body that cannot be read, with the message the API answers.
public struct ParameterBodyError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Decodes the bodies of API and page requests as GitLab's API reads them: JSON, or form data
/// (`a=1&project_keys[]=X`), with query parameters as a fallback source. Also the form encoding that
/// GitHub and Gitea use for `payload=<json>` webhooks.
public enum ParameterBody {
    /// Query pairs first, then the body's parameters over them.
    public static func parameters(_ data: Data, contentType: String, query: [(String, String)]) throws(ParameterBodyError) -> [String: ParameterValue]
    {
        var params: [String: ParameterValue] = [:]
        for (k, v) in query { merge(&params, key: k, value: .string(v)) }
        if data.isEmpty { return params }
        let type = contentType.lowercased()
        if type.contains("application/x-www-form-urlencoded") {
            for (k, v) in formPairs(String(decoding: data, as: UTF8.self)) { merge(&params, key: k, value: .string(v)) }
            return params
        }
        if type.contains("multipart/form-data") {
            throw ParameterBodyError("multipart bodies are not supported; send JSON or application/x-www-form-urlencoded")
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(data)
        } catch {
            throw ParameterBodyError("The request body is not valid JSON")
        }
        guard case .object(let object) = json else { throw ParameterBodyError("The request body must be a JSON object") }
        for (k, v) in object { params[k] = parameterValue(v) }
        return params
    }

    public static func parameterValue(_ v: JSONValue) -> ParameterValue {
        switch v {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let n): return .number(n)
        case .string(let s): return .string(s)
        case .array(let a): return .list(a.map(parameterValue))
        case .object:
            // Keys sorted, slashes as they are.
            var writer = JSONWriter()
            writer.value(v)
            return .json(writer.text)
        }
    }

    /// `key[]` accumulates into a list under `key`; other keys take the last value.
    public static func merge(_ params: inout [String: ParameterValue], key: String, value: ParameterValue) {
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

    /// `application/x-www-form-urlencoded` pairs: `+` is a space, names and values are percent-decoded
    /// (a value that is not valid percent-encoding is kept as written).
    public static func formPairs(_ text: String) -> [(String, String)] {
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
