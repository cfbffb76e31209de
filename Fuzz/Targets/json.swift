// Fuzz target: the core's JSON reader and writer. Any bytes: `JSONValue.parse` and `JSONMemberReader` must agree
// (same refusals, the same `message` and `id`), and what parses must write and parse back to the same value.
import Integration

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let parsed = try? JSONValue.parse(buffer: bytes)
    var members = JSONMemberReader(text: "message", value: "id")
    let read = try? members.read(bytes) { message, id in (message.map { String(decoding: $0, as: UTF8.self) }, id) }
    if (parsed == nil) != (read == nil) { fatalError("parse and the member reader disagree on whether this is JSON") }
    if let parsed, let read {
        if read.0 != parsed["message"]?.string || read.1 != parsed["id"] { fatalError("the member reader read other members than parse") }
        var writer = JSONWriter()
        writer.value(parsed)
        guard let again = try? JSONValue.parse(writer.bytes) else { fatalError("the writer wrote what does not parse: \(writer.text)") }
        if again != parsed { fatalError("written and read again, the value changed: \(writer.text)") }
    }
    return 0
}
