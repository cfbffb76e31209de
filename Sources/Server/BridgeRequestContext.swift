import Hummingbird
import NIOCore
import Logging
import Store

/// Who is calling: the instance admin (from configuration) or a stored API token.
public struct Identity: Sendable, Equatable {
    public var tokenID: Int64?
    public var role: TokenRole
    public var scope: TokenScope

    public static let instanceAdmin = Identity(tokenID: nil, role: .admin, scope: .instance)
}

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

    /// The client's IP address.
    var clientAddress: String { channel?.remoteAddress?.ipAddress ?? "unknown" }

    /// API bodies are small; security reports (a later feature) raise their own limit.
    public var maxUploadSize: Int { 1 << 20 }

    /// The caller, or 401 when the request carried no valid token.
    func requireIdentity() throws -> Identity {
        guard let identity else { throw APIError.unauthorized }
        return identity
    }
}
