import Tracing

/// OpenTelemetry's trace context across the queue: a span's W3C `traceparent`, kept with an event or a delivery, and
/// the context it stands for, read back when the event is planned or the delivery runs. With tracing off (no
/// tracer bootstrapped) there is no context: nothing is kept and nothing is sent.
public enum TraceContext {
    /// The current span's `traceparent`, or nil when no span is recording.
    public static func current() -> String? {
        guard let context = ServiceContext.current else { return nil }
        return traceparent(of: context)
    }

    /// The `traceparent` of `context`, or nil when it holds no span (tracing off).
    public static func traceparent(of context: ServiceContext) -> String? {
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryCarrier())
        return carrier["traceparent"]
    }

    /// The context a kept `traceparent` stands for (a top-level one when there is none).
    public static func context(_ traceparent: String?) -> ServiceContext {
        var context = ServiceContext.topLevel
        if let traceparent, !traceparent.isEmpty, traceparent.utf8.count <= 256 {
            InstrumentationSystem.instrument.extract(["traceparent": traceparent], into: &context, using: DictionaryCarrier())
        }
        return context
    }
}

struct DictionaryCarrier: Injector, Extractor {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}
