import Foundation
import Testing

@testable import Server

/// `docs/openapi.yaml` (the file in `Sources/Server/Web`, which the server serves): every route of the router is in
/// it, with its method, and nothing more.
@Suite("OpenAPI description")
struct OpenAPITests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/Server/Web/openapi.yaml")

    /// `METHOD /path` of every operation under `paths:`, read line by line (the file keeps two spaces before a
    /// path and four before a method).
    static func operations(_ text: String) -> Set<String> {
        var inPaths = false
        var path: String?
        var found = Set<String>()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if let first = line.first, first != " ", first != "#" { break }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     ") {
                let word = line.dropFirst(4).prefix { $0 != ":" }
                if ["get", "post", "put", "delete", "patch"].contains(String(word)) { found.insert("\(word.uppercased()) \(path)") }
            }
        }
        return found
    }

    @Test("every route of the router is described, and nothing else")
    func coversTheRouter() throws {
        let described = Self.operations(try String(contentsOf: Self.file, encoding: .utf8))
        #expect(described.count >= 80, "the file was read: \(described.count)")
        let routes = Set(
            try AuthorizationMatrixTests.routes().map { route in
                // :id in the router, {id} in OpenAPI.
                let path = route.path.split(separator: "/", omittingEmptySubsequences: false).map { part in
                    part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
                }.joined(separator: "/")
                return "\(route.method) \(path)"
            })
        for missing in routes.subtracting(described).sorted() { Issue.record("not in openapi.yaml: \(missing)") }
        for extra in described.subtracting(routes).sorted() { Issue.record("in openapi.yaml but not a route: \(extra)") }
    }

    @Test("the server serves the file at /api/v4/openapi.yaml, without a token")
    func served() async throws {
        try await Harness.runLive { h in
            let r = try await h.request(.GET, "/api/v4/openapi.yaml", headers: [])
            #expect(r.status == 200)
            #expect(r.text == (try String(contentsOf: Self.file, encoding: .utf8)))
            #expect(r.headers.first { $0.0.lowercased() == "content-type" }?.1.hasPrefix("application/yaml") == true)
        }
    }
}
