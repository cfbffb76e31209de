import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Bytes of request bodies held at once. A webhook takes its share as its bytes arrive (never from what its
/// `Content-Length` announces, so a client that announces 25 MB and sends nothing holds nothing), and waits
/// when the budget is spent: twenty concurrent 25 MB webhooks are read two or three at a time instead of all
/// at once, and memory stays bounded by the budget (and what parsing it costs) whatever the load. The body
/// deadline (`ConnectionLimits.bodyTimeout`) bounds how long any reader holds its share.
///
/// Taking the budget a chunk at a time could deadlock: twelve readers that each hold a twelfth of it and
/// each wait for more would wait for ever (until the body deadline cut them all off). So when every reader
/// that holds budget is waiting, the one that holds most goes on past the budget and finishes; memory then
/// stays within the budget plus one body.
final class BodyBudget: Sendable {
    private struct Reader { var held = 0; var waiting = false }
    private struct Waiter { var reader: Int; var bytes: Int; var continuation: CheckedContinuation<Void, Never> }
    private struct State {
        var available: Int
        var readers: [Int: Reader] = [:]
        var waiters: [Waiter] = []
        var nextID = 0
    }

    let capacity: Int
    private let state: Mutex<State>

    init(capacity: Int) {
        self.capacity = capacity
        self.state = Mutex(State(available: capacity))
    }

    /// Bytes in use now (for tests and metrics); above the capacity only while a reader finishes past it.
    var inUse: Int { state.withLock { capacity - $0.available } }
    /// Readers waiting for budget now (for tests).
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Starts a body: the id to reserve for, and to `close` when the body is done with (or abandoned).
    func open() -> Int {
        state.withLock { s in
            s.nextID &+= 1
            s.readers[s.nextID] = Reader()
            return s.nextID
        }
    }

    /// Waits until `bytes` (at most the capacity) are free and takes them for `reader`; first come, first
    /// served.
    func reserve(_ bytes: Int, for reader: Int) async {
        let bytes = min(max(bytes, 0), capacity)
        guard bytes > 0 else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                    if s.waiters.isEmpty && s.available >= bytes {
                        s.available -= bytes
                        s.readers[reader, default: Reader()].held += bytes
                        return [continuation]
                    }
                    s.readers[reader, default: Reader()].waiting = true
                    s.waiters.append(Waiter(reader: reader, bytes: bytes, continuation: continuation))
                    return Self.settle(&s)
                }
                for c in ready { c.resume() }
            }
        } onCancel: {
            // A stop cancels the request: it stops waiting (with nothing granted) and reads on into the
            // cancellation; `close` gives back what it held.
            let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                guard let index = s.waiters.firstIndex(where: { $0.reader == reader }) else { return [] }
                s.readers[reader]?.waiting = false
                // Without it at the head of the queue, those behind it may fit.
                return [s.waiters.remove(at: index).continuation] + Self.settle(&s)
            }
            for c in ready { c.resume() }
        }
    }

    /// Gives back everything `reader` took, and forgets it.
    func close(_ reader: Int) {
        let (ready, freed) = state.withLock { s -> ([CheckedContinuation<Void, Never>], Int) in
            let held = s.readers.removeValue(forKey: reader)?.held ?? 0
            s.available += held
            return (Self.settle(&s), held)
        }
        for c in ready { c.resume() }
        // Large bodies leave freed pages in malloc's arenas; hand them back so resident memory falls again.
        if freed >= 1 << 20 { Self.returnFreedMemory() }
    }

    /// Grants what fits, in order; then, if no reader that holds budget is still reading (all of them wait
    /// for more), the waiter that holds most goes on past the budget, so that some reader always progresses.
    private static func settle(_ s: inout State) -> [CheckedContinuation<Void, Never>] {
        var ready: [CheckedContinuation<Void, Never>] = []
        func grant(_ index: Int) {
            let w = s.waiters.remove(at: index)
            s.available -= w.bytes
            s.readers[w.reader, default: Reader()].held += w.bytes
            s.readers[w.reader, default: Reader()].waiting = false
            ready.append(w.continuation)
        }
        while let first = s.waiters.first, first.bytes <= s.available { grant(0) }
        if !s.waiters.isEmpty, !s.readers.values.contains(where: { $0.held > 0 && !$0.waiting }) {
            let holdings = s.waiters.map { s.readers[$0.reader]?.held ?? 0 }
            if let most = holdings.indices.max(by: { holdings[$0] < holdings[$1] }) { grant(most) }
        }
        return ready
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
