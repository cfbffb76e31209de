import HTTPTypes
import Hummingbird
import Integration
import Logging
import NIOCore
import Store

let forwardedForHeader = HTTPField.Name("X-Forwarded-For")!

/// The request context of every route: Hummingbird's core storage plus the caller's identity.
public struct BridgeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?
    /// The browser session of a web page request, and the name shown for its user.
    public var webSession: WebSession?
    public var webUser: String?
    /// The connection, for the client's address (read only where needed: sign-in throttling).
    let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.identity = nil
        self.channel = source.channel
    }

    /// The client's IP address: the peer's, or, when the peer is a trusted proxy, the nearest address in
    /// `X-Forwarded-For` that is not itself a trusted proxy (read from the right, since a client can put
    /// anything at the left of the header).
    func clientAddress(_ request: Request, trusting proxies: [IPNetwork]) -> String {
        let peer = channel?.remoteAddress?.ipAddress ?? "unknown"
        func trusted(_ text: String) -> Bool {
            guard let address = IPAddress(literal: text) else { return false }
            return proxies.contains { $0.contains(address) }
        }
        guard !proxies.isEmpty, trusted(peer) else { return peer }
        var hops: [String] = []
        for header in request.headers[values: forwardedForHeader] {
            hops += header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        for hop in hops.reversed().prefix(32) {
            if !trusted(hop) { return IPAddress(literal: hop)?.description ?? hop }
        }
        return hops.first ?? peer
    }

    /// API bodies are small; security reports (a later feature) raise their own limit.
    public var maxUploadSize: Int { 1 << 20 }

    /// The caller, or 401 when the request carried no valid token.
    func requireIdentity() throws -> Identity {
        guard let identity else { throw ServiceFailure.unauthenticated }
        return identity
    }
}
