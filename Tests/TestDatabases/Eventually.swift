/// Waits until `condition` holds, checking it every `interval`, for at most `timeout`; returns whether it
/// held. The one wait of the suites, for the few tests that must wait for work another process or a real
/// server's background services do on their own (a test of the core advances a clock instead). A claim that
/// nothing happens is never proven by waiting: the test asks a state the code reports (the queue is idle).
@discardableResult
public func eventually(
    timeout: Duration = .seconds(20), interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if try await condition() { return true }
        if clock.now >= deadline { return false }
        try? await Task.sleep(for: interval)
    }
}
