import Tracing

/// A span per store transaction (`store write`, `store read`) inside a traced operation (a webhook's intake, an
/// event's planning, a delivery), when tracing is on. The background loops' polls run under no span and make none,
/// so they do not flood the collector with traces of one span each.
func traced<T: Sendable>(_ dialect: SQLDialect, write: Bool, _ body: () async throws -> T) async throws -> T {
    guard ServiceContext.current != nil else { return try await body() }
    return try await withSpan(write ? "store write" : "store read", ofKind: .client) { span in
        span.attributes["db.system.name"] = dialect == .sqlite ? "sqlite" : "postgresql"
        return try await body()
    }
}
