import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Integration
import JiraClient
import Logging
import NIOCore
import ServiceLifecycle
import Store
import Synchronization

/// Logs one line per request: method, path, status and time; never headers or bodies.
struct RequestLogger: RouterMiddleware {
    typealias Context = BridgeRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        // Hummingbird's request id, in every log line of the request (`request_id`) and in its answer: a forge's log
        // of the hook shows it, and a webhook's line "webhook accepted" ties it to the event id its planning and
        // deliveries log.
        let id = context.logger[metadataKey: BridgeLogHandler.hummingbirdRequestID].map { "\($0)" }
        do {
            var response = try await next(request, context)
            log(request, context, status: Int(response.status.code), start: start)
            if let id { response.headers[requestIDHeader] = id }
            return response
        } catch let error as any HTTPResponseError {
            log(request, context, status: Int(error.status.code), start: start)
            if let id { throw IdentifiedError(base: error, requestID: id) }
            throw error
        } catch {
            context.logger.error(
                "request failed", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(type(of: error))"])
            throw error
        }
    }

    private func log(_ request: Request, _ context: Context, status: Int, start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        context.logger.info(
            "request",
            metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(status)", "ms": "\(String(format: "%.1f", ms))",
            ])
    }
}

let requestIDHeader = HTTPField.Name("X-Request-Id")!

/// An error answer with the request's id among its headers (the router turns it into the base error's answer).
struct IdentifiedError: HTTPResponseError {
    let base: any HTTPResponseError
    let requestID: String
    var status: HTTPResponse.Status { base.status }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try base.response(from: request, context: context)
        response.headers[requestIDHeader] = requestID
        return response
    }
}
