import Foundation
import Hummingbird
import Integration

/// An API error in GitLab's shape: `{"message": "404 Project Not Found"}`, or a field map for
/// validation failures: `{"message": {"url": ["must be a valid URL"]}}`.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    let body: JSONValue

    public init(_ status: HTTPResponse.Status, message: String) {
        self.status = status
        self.body = .object(["message": .string(message)])
    }

    init(_ status: HTTPResponse.Status, body: JSONValue) {
        self.status = status
        self.body = body
    }

    public static let unauthorized = APIError(.unauthorized, message: "401 Unauthorized")
    public static let forbidden = APIError(.forbidden, message: "403 Forbidden")
    public static let projectNotFound = APIError(.notFound, message: "404 Project Not Found")
    public static let groupNotFound = APIError(.notFound, message: "404 Group Not Found")
    public static let integrationNotFound = APIError(.notFound, message: "404 Integration Not Found")
    public static let notFound = APIError(.notFound, message: "404 Not Found")

    /// Grape's answer to a parameter of the wrong type or a missing one: `{"error": "url is missing"}`.
    public static func badParameter(_ text: String) -> APIError {
        APIError(.badRequest, body: .object(["error": .string(text)]))
    }

    /// A validation failure: 400 with the messages by field.
    public static func validation(_ errors: ValidationErrors) -> APIError {
        var fields: [String: JSONValue] = [:]
        for entry in errors.byField { fields[entry.field] = .array(entry.messages.map { .string($0) }) }
        return APIError(.badRequest, body: .object(["message": .object(fields)]))
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try JSONBody.response(body, status: status)
    }
}

/// Encodes JSON bodies with stable key order.
enum JSONBody {
    static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        // Keys sorted, slashes unescaped: what JSONEncoder wrote with [.sortedKeys, .withoutEscapingSlashes].
        var writer = JSONWriter(capacity: 256)
        writer.value(value)
        let data = writer.bytes
        var h = headers
        h[.contentType] = "application/json"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// GitLab's timestamp format: `2024-01-31T12:00:00.000Z`.
func isoTimestamp(_ millis: Int64) -> String {
    let date = Date(timeIntervalSince1970: Double(millis) / 1000)
    return Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
}

extension APIError {
    /// The message as one line of text, for the command line.
    public var plainMessage: String {
        if let m = body["message"]?.string { return m }
        if let m = body["error"]?.string { return m }
        return "\(status.code) \(status.reasonPhrase)"
    }
}
