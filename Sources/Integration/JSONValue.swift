/// Any JSON value, for Jira documents that jira-bridge passes through or reads loosely.
public enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if let i = n.exactInteger { try c.encode(i) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var object: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var number: Double? { if case .number(let n) = self { return n }; return nil }
    public var isNull: Bool { self == .null }

    /// A string, or a number written as an integer string (Jira ids come as either).
    public var idString: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return n.exactInteger.map { String($0) }
        default: return nil
        }
    }

    /// A number that is a whole integer JSON can carry exactly (|n| <= 2^53), else nil: `1e300`, `1.5`,
    /// `NaN` and strings are nil, never a trap.
    public var integer: Int64? { number?.exactInteger }
}

extension Double {
    /// The largest integer a double holds exactly; beyond it JSON integers lose digits.
    public static let maxExactInteger: Double = 9_007_199_254_740_992

    /// `self` as an `Int64` when it is finite, whole and below 2^53 in size (2^53 itself may be 2^53 + 1 rounded); nil otherwise. The one checked
    /// conversion for numbers from outside: `Int64(self)` traps on 1e300 or NaN.
    public var exactInteger: Int64? {
        guard isFinite, self == rounded(.towardZero), Swift.abs(self) < Self.maxExactInteger else { return nil }
        return Int64(self)
    }

    /// The integer this number spells, or its shortest decimal text when it is not one.
    public var parameterText: String { exactInteger.map { String($0) } ?? "\(self)" }
}
