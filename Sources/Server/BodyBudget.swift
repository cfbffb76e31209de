#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Bytes of request bodies held at once. A webhook takes its share as its bytes arrive (never from what its
/// `Content-Length` announces, so a client that announces 25 MB and sends nothing holds nothing), and waits
/// when the budget is spent: twenty concurrent 25 MB webhooks are read two or three at a time instead of all
/// at once, and memory stays bounded by the budget (and what parsing it costs) whatever the load. The body
/// deadline (`ConnectionLimits.bodyTimeout`) bounds how long any reader holds its share.
final class BodyBudget: Sendable {
    private struct State {
        var available: Int
        var waiters: [(bytes: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    let capacity: Int
    private let state: Mutex<State>

    init(capacity: Int) {
        self.capacity = capacity
        self.state = Mutex(State(available: capacity))
    }

    /// Bytes in use now (for tests and metrics).
    var inUse: Int { state.withLock { capacity - $0.available } }

    /// Waits until `bytes` (at most the capacity) are free and takes them; first come, first served.
    func reserve(_ bytes: Int) async {
        let bytes = min(max(bytes, 0), capacity)
        guard bytes > 0 else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { s -> Bool in
                if s.waiters.isEmpty && s.available >= bytes {
                    s.available -= bytes
                    return true
                }
                s.waiters.append((bytes, continuation))
                return false
            }
            if granted { continuation.resume() }
        }
    }

    /// Gives back bytes taken by `reserve` (at most the capacity per call, as `reserve` took them).
    func release(_ bytes: Int) {
        let bytes = min(max(bytes, 0), capacity)
        guard bytes > 0 else { return }
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.available += bytes
            var ready: [CheckedContinuation<Void, Never>] = []
            while let first = s.waiters.first, first.bytes <= s.available {
                s.available -= first.bytes
                ready.append(first.continuation)
                s.waiters.removeFirst()
            }
            return ready
        }
        for c in ready { c.resume() }
        // Large bodies leave freed pages in malloc's arenas; hand them back so resident memory falls again.
        if bytes >= 1 << 20 { Self.returnFreedMemory() }
    }

    /// glibc's `malloc_trim`, looked up at run time (Swift's Glibc module does not export it).
    static func returnFreedMemory() {
        #if canImport(Glibc)
        if let trim = mallocTrim { _ = trim(0) }
        #endif
    }

    #if canImport(Glibc)
    private typealias MallocTrim = @convention(c) (Int) -> Int32
    private static let mallocTrim: MallocTrim? = dlsym(nil, "malloc_trim").map { unsafeBitCast($0, to: MallocTrim.self) }
    #endif
}
