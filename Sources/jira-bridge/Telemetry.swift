import Logging
import OTel
import ServiceLifecycle

/// OpenTelemetry traces (swift-otel, OTLP over HTTP): off unless an OTLP endpoint is set, with OpenTelemetry's own
/// variables (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS`,
/// `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, ...), which swift-otel reads. Logs and metrics stay jira-bridge's own
/// (stderr, and Prometheus at /metrics).
enum Telemetry {
    /// Where traces go, or nil when tracing is off.
    static func tracesEndpoint(_ environment: [String: String]) -> String? {
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return nil }
        if let exporter = environment["OTEL_TRACES_EXPORTER"]?.lowercased(), exporter == "none" { return nil }
        if let traces = environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], !traces.isEmpty { return traces }
        if let base = environment["OTEL_EXPORTER_OTLP_ENDPOINT"], !base.isEmpty {
            return base.hasSuffix("/") ? base + "v1/traces" : base + "/v1/traces"
        }
        return nil
    }

    /// What the settings line says: `off`, or the endpoint.
    static func describe(_ environment: [String: String]) -> String { tracesEndpoint(environment) ?? "off" }

    /// Checks what can be checked before start: the protocol is OTLP over HTTP (this build has no gRPC exporter),
    /// and the endpoint an http(s) URL.
    static func check(_ environment: [String: String]) throws {
        guard let endpoint = tracesEndpoint(environment) else { return }
        guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
            throw StartupError(description: "invalid OTLP endpoint '\(endpoint.prefix(80))': expected an http(s) URL")
        }
        for name in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] {
            if let value = environment[name], !value.isEmpty, value != "http/protobuf", value != "http/json" {
                throw StartupError(
                    description: "\(name)=\(value.prefix(40)) is not supported: jira-bridge exports OTLP over HTTP (http/protobuf or http/json)")
            }
        }
    }

    /// Bootstraps the tracer and returns the exporter's service (run it beside the server: it flushes on stop), or
    /// nil when tracing is off.
    static func bootstrap(_ environment: [String: String], version: String, logger: Logger) throws -> (any Service)? {
        guard tracesEndpoint(environment) != nil else { return nil }
        try check(environment)
        var configuration = OTel.Configuration.default
        configuration.serviceName = "jira-bridge"
        configuration.resourceAttributes["service.version"] = version
        configuration.diagnosticLogger = .custom(logger)
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        do {
            return try OTel.bootstrap(configuration: configuration, environment: environment)
        } catch {
            throw StartupError(description: "OpenTelemetry could not start: \(error)")
        }
    }
}
