import Testing

@testable import Server

/// The webhook body budget, taken a chunk at a time: bounded, first come first served, and never stuck.
@Suite("Body budget")
struct BodyBudgetTests {
    @Test("readers that each hold part of the budget and all want more do not wait for ever: the one holding most goes on")
    func noDeadlock() async {
        let budget = BodyBudget(capacity: 100)
        let readers = (0..<3).map { _ in budget.open() }
        await budget.reserve(40, for: readers[0])
        await budget.reserve(40, for: readers[1])
        #expect(budget.inUse == 80)
        // Twelve readers of 24 MB on a 50 MB budget met exactly this: all hold some, all wait for more.
        await withTaskGroup(of: Void.self) { group in
            for (i, reader) in readers.enumerated() {
                group.addTask {
                    await budget.reserve(40, for: reader)
                    await budget.reserve(40, for: reader)
                    budget.close(reader)
                    _ = i
                }
            }
        }
        #expect(budget.inUse == 0, "everything given back")
        #expect(budget.waiting == 0)
    }

    @Test("what fits is granted in order; a closed reader's share goes to the next in line")
    func firstComeFirstServed() async {
        let budget = BodyBudget(capacity: 10)
        let a = budget.open(), b = budget.open()
        await budget.reserve(8, for: a)
        async let waited: Void = budget.reserve(5, for: b)
        // b holds nothing, and a still reads: b waits for a, with nothing forced.
        while budget.waiting == 0 { await Task.yield() }
        #expect(budget.inUse == 8)
        budget.close(a)
        await waited
        #expect(budget.inUse == 5)
        budget.close(b)
        #expect(budget.inUse == 0)
    }

    @Test("a waiting reader that is cancelled stops waiting, holding nothing more")
    func cancelled() async {
        let budget = BodyBudget(capacity: 10)
        let a = budget.open(), b = budget.open()
        await budget.reserve(10, for: a)
        let waiter = Task { await budget.reserve(5, for: b) }
        while budget.waiting == 0 { await Task.yield() }
        waiter.cancel()
        await waiter.value
        #expect(budget.waiting == 0 && budget.inUse == 10)
        budget.close(b)
        budget.close(a)
        #expect(budget.inUse == 0)
    }
}
