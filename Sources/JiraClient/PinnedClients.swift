import AsyncHTTPClient
import Integration
import Synchronization

/// HTTP clients that connect a host name to one checked address (AsyncHTTPClient's `dnsOverride`, which
/// keeps the name for TLS's SNI and certificate check). One client per (host, address), kept for reuse of
/// its connections; at most `limit` are kept, and a dropped one is shut down once its requests are over.
final class PinnedClients: Sendable {
    static let limit = 64
    /// Longer than any request may last, so a client is never shut down under a running request.
    static let retireAfter: Duration = .seconds(120)

    private let base: HTTPClient.Configuration
    private let clients = Mutex<[String: (client: HTTPClient, used: ContinuousClock.Instant)]>([:])

    init(base: HTTPClient.Configuration) {
        self.base = base
    }

    func client(host: String, address: IPAddress) -> HTTPClient {
        let key = host.lowercased() + "|" + address.description
        let (client, retired) = clients.withLock { map -> (HTTPClient, HTTPClient?) in
            if let entry = map[key] {
                map[key] = (entry.client, .now)
                return (entry.client, nil)
            }
            var configuration = base
            configuration.dnsOverride = [host: address.description]
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            var retired: HTTPClient? = nil
            if map.count >= Self.limit, let oldest = map.min(by: { $0.value.used < $1.value.used }) {
                retired = oldest.value.client
                map[oldest.key] = nil
            }
            map[key] = (client, .now)
            return (client, retired)
        }
        if let retired {
            Task {
                try? await Task.sleep(for: Self.retireAfter)
                try? await retired.shutdown()
            }
        }
        return client
    }

    func shutdown() async {
        let all = clients.withLock { map -> [HTTPClient] in
            defer { map.removeAll() }
            return map.values.map(\.client)
        }
        for client in all { try? await client.shutdown() }
    }
}
