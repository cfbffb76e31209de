import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// The page templates and static assets, loaded once from the `Web` resources.
struct WebPages: Sendable {
    let library: MustacheLibrary
    let assets: [String: (contentType: String, body: ByteBuffer)]

    /// The `Web` folder shipped with the server: `JIRA_BRIDGE_WEB_DIR` if set, else
    /// `jira-bridge_Server.resources/Web` beside the executable (where `swift build` puts it). Found by
    /// hand rather than through `Bundle.module`, which stops the process when the folder is missing.

    /// What stops the pages from loading their templates and assets (naming the path tried), or nil: for `serve`,
    /// which refuses a wrong `JIRA_BRIDGE_WEB_DIR` at start, and `serve --check-config`.
    static func resourcesProblem(environment: [String: String]) -> String? {
        do {
            _ = try locateResources(environment: environment)
            return nil
        } catch {
            return error.message
        }
    }

    /// The folder of templates and assets, or an error naming each path tried and what it lacks.
    static func locateResources(environment: [String: String] = ProcessInfo.processInfo.environment) throws(WebPagesError) -> URL {
        let fm = FileManager.default
        var tried: [String] = []
        if let dir = environment["JIRA_BRIDGE_WEB_DIR"], !dir.isEmpty {
            let url = URL(fileURLWithPath: dir)
            if fm.fileExists(atPath: url.appendingPathComponent("templates").path) { return url }
            // A folder named on purpose and wrong is an error of its own: nothing else is tried.
            var isDirectory: ObjCBool = false
            let what =
                fm.fileExists(atPath: dir, isDirectory: &isDirectory)
                ? (isDirectory.boolValue ? "has no templates folder" : "is not a folder") : "does not exist"
            throw WebPagesError(
                message:
                    "JIRA_BRIDGE_WEB_DIR=\(dir) \(what): it must name the Web folder (jira-bridge_Server.resources/Web, with templates/ and assets/)")
        }
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            let url = executable.deletingLastPathComponent().appendingPathComponent("jira-bridge_Server.resources/Web")
            if fm.fileExists(atPath: url.appendingPathComponent("templates").path) { return url }
            tried.append(url.path)
        }
        throw WebPagesError(
            message:
                "the Web resources are missing: \(tried.isEmpty ? "the binary's folder is unknown" : "\(tried[0]) has no templates folder"); set JIRA_BRIDGE_WEB_DIR, or put the jira-bridge_Server.resources folder beside the binary"
        )
    }

    init() throws {
        let root = try Self.locateResources()
        let fm = FileManager.default
        var templates: [String: MustacheTemplate] = [:]
        let templateDir = root.appendingPathComponent("templates")
        for name in try fm.contentsOfDirectory(atPath: templateDir.path) where name.hasSuffix(".mustache") {
            let text = try String(contentsOf: templateDir.appendingPathComponent(name), encoding: .utf8)
            do {
                templates[String(name.dropLast(".mustache".count))] = try MustacheTemplate(string: text)
            } catch {
                throw WebPagesError(message: "template \(name) does not parse: \(error)")
            }
        }
        library = MustacheLibrary(templates: templates)
        var assets: [String: (String, ByteBuffer)] = [:]
        let assetDir = root.appendingPathComponent("assets")
        for name in try fm.contentsOfDirectory(atPath: assetDir.path) {
            let data = try Data(contentsOf: assetDir.appendingPathComponent(name))
            let type =
                name.hasSuffix(".css")
                ? "text/css; charset=utf-8"
                : name.hasSuffix(".js")
                    ? "text/javascript; charset=utf-8"
                    : name.hasSuffix(".svg") ? "image/svg+xml" : "application/octet-stream"
            assets[name] = (type, ByteBuffer(bytes: data))
        }
        self.assets = assets
    }

    /// Headers of every page: no framing, no inline or outside scripts or styles, no sniffing.
    static let securityHeaders: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!:
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' http: https:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
        .cacheControl: "no-store",
    ]

    func render<Model: ViewModel>(
        _ template: String, _ page: RenderedPage<Model>, status: HTTPResponse.Status = .ok,
        headers extra: HTTPFields = [:]
    ) -> Response {
        let html = library.render(page, withTemplate: template) ?? "template \(template) is missing"
        var headers = Self.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func asset(_ name: String) -> Response? {
        guard let asset = assets[name] else { return nil }
        return Response(
            status: .ok,
            headers: [
                .contentType: asset.contentType, .cacheControl: "public, max-age=300",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: asset.body))
    }
}

struct WebPagesError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The pages' resources, as the command line checks them before `serve` starts.
public enum WebResources {
    /// `openapi.yaml`, the HTTP API's description (served at `/api/v4/openapi.yaml`), or nil when the resources
    /// are missing.
    static func openAPIDescription(environment: [String: String] = ProcessInfo.processInfo.environment) -> ByteBuffer? {
        guard let root = try? WebPages.locateResources(environment: environment),
            let data = FileManager.default.contents(atPath: root.appendingPathComponent("openapi.yaml").path)
        else { return nil }
        return ByteBuffer(bytes: data)
    }

    /// What stops the pages from loading (naming the path tried), or nil.
    public static func problem(environment: [String: String]) -> String? { WebPages.resourcesProblem(environment: environment) }
}
