import Synchronization

/// One task at a time, in the order they asked: an async lock that suspends waiting tasks instead of
/// blocking their threads. SQLite's transactions take turns on the one connection with it.
final class Turns: Sendable {
    struct State {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
        var head = 0
    }

    let state = Mutex(State())

    /// Runs `body` when no other turn runs, and gives the turn to the next task in line when it ends.
    func run<T>(_ body: () async throws -> T) async throws -> T {
        await take()
        defer { give() }
        return try await body()
    }

    private func take() async {
        let now = state.withLock { s -> Bool in
            if s.busy { return false }
            s.busy = true
            return true
        }
        if now { return }
        await withCheckedContinuation { continuation in
            let now = state.withLock { s -> Bool in
                if s.busy {
                    s.waiting.append(continuation)
                    return false
                }
                s.busy = true
                return true
            }
            if now { continuation.resume() }
        }
    }

    private func give() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard s.head < s.waiting.count else {
                s.waiting.removeAll(keepingCapacity: true)
                s.head = 0
                s.busy = false
                return nil
            }
            // The turn passes straight to the next in line: `busy` stays true.
            let next = s.waiting[s.head]
            s.head += 1
            if s.head == s.waiting.count {
                s.waiting.removeAll(keepingCapacity: true)
                s.head = 0
            }
            return next
        }
        next?.resume()
    }
}
