#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Milliseconds since 1970, the portable timestamp every table and rule uses.
public typealias Millis = Int64

/// The time of day, injected: every part that reads the time (the store, token expiry, sessions, the
/// queue, retries) takes one of these, so tests can fix or move it and no two parts disagree.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Millis

    public init(_ read: @escaping @Sendable () -> Millis) { self.read = read }

    /// Now, in milliseconds since 1970.
    public func now() -> Millis { read() }

    /// The system's real-time clock.
    public static let system = WallClock {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Millis(ts.tv_sec) * 1000 + Millis(ts.tv_nsec / 1_000_000)
    }

    /// A clock that always reads `millis`.
    public static func fixed(_ millis: Millis) -> WallClock { WallClock { millis } }
}
