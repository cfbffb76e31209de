/// A compiled regular expression run by a Pike VM: every thread advances in lock-step over the input,
/// so matching takes time linear in the input whatever the pattern (RE2's guarantee, which GitLab relies
/// on for user-supplied `jira_issue_regex` and `jira_issue_prefix`).
public struct RegexProgram: Sendable {
    enum Instruction: Sendable {
        case scalar(UInt32, foldCase: Bool)
        case set(ScalarSet)
        case any(matchesNewline: Bool)
        case split(Int, Int)  // try the first, then the second
        case jump(Int)
        case save(Int)
        case assert(Assertion)
        case match
    }

    enum Assertion: Sendable {
        case lineStart, lineEnd, textStart, textEnd, wordBoundary, notWordBoundary
    }

    let instructions: [Instruction]
    /// Number of capture slots (two per group, plus the whole match).
    let slotCount: Int
    public let parsed: ParsedRegex
    /// The scalars a match can begin with, when every match consumes one first (nil: any position may
    /// start a match). An unanchored search skips the positions where none can start.
    let firstScalars: FirstScalars?

    /// A set of scalars: a table for ASCII, the program's own classes and letters beyond it.
    struct FirstScalars: Sendable {
        var ascii = [Bool](repeating: false, count: 128)
        var sets: [ScalarSet] = []
        var scalars: [UInt32] = []

        func contains(_ c: UInt32) -> Bool {
            if c < 128 { return ascii[Int(c)] }
            return scalars.contains(c) || sets.contains { $0.contains(c) }
        }
    }

    /// The largest program accepted; RE2 refuses patterns that expand past its own limit the same way.
    public static let maxInstructions = 20_000

    public init(_ pattern: String) throws(RegexSyntaxError) {
        let parsed = try RegexParser.parse(pattern)
        var compiler = Compiler()
        compiler.emit(.save(0))
        try compiler.compile(parsed.root)
        compiler.emit(.save(1))
        compiler.emit(.match)
        self.instructions = compiler.program
        self.slotCount = 2 * (parsed.captureCount + 1)
        self.parsed = parsed
        self.firstScalars = Self.firstScalars(compiler.program)
    }

    /// Follows the zero-width instructions from the start (assertions counted as passable, which only
    /// widens the set) and collects what the first consuming instructions accept.
    static func firstScalars(_ program: [Instruction]) -> FirstScalars? {
        var first = FirstScalars()
        var seen = Set<Int>()
        var stack = [0]
        while let pc = stack.popLast() {
            guard seen.insert(pc).inserted else { continue }
            switch program[pc] {
            case .save, .assert: stack.append(pc + 1)
            case .jump(let target): stack.append(target)
            case .split(let a, let b): stack.append(b); stack.append(a)
            case .match, .any: return nil
            case .scalar(let v, let fold):
                var values = [v]
                if fold {
                    if (65...90).contains(v) { values.append(v + 32) }
                    if (97...122).contains(v) { values.append(v - 32) }
                }
                for x in values { if x < 128 { first.ascii[Int(x)] = true } else { first.scalars.append(x) } }
            case .set(let set):
                for c in 0..<128 where set.contains(UInt32(c)) { first.ascii[c] = true }
                first.sets.append(set)
            }
        }
        return first
    }

    struct Compiler {
        var program: [Instruction] = []

        mutating func emit(_ i: Instruction) { program.append(i) }

        mutating func compile(_ node: RegexNode) throws(RegexSyntaxError) {
            if program.count > RegexProgram.maxInstructions {
                throw RegexSyntaxError(message: "pattern too large - compile failed")
            }
            switch node {
            case .empty: break
            case .literal(let s, let fold): emit(.scalar(s.value, foldCase: fold))
            case .any(let nl): emit(.any(matchesNewline: nl))
            case .set(let set): emit(.set(set))
            case .lineStart: emit(.assert(.lineStart))
            case .lineEnd: emit(.assert(.lineEnd))
            case .textStart: emit(.assert(.textStart))
            case .textEnd: emit(.assert(.textEnd))
            case .wordBoundary: emit(.assert(.wordBoundary))
            case .notWordBoundary: emit(.assert(.notWordBoundary))
            case .concat(let items): for item in items { try compile(item) }
            case .group(let inner, let capture, _):
                if let capture { emit(.save(2 * capture)) }
                try compile(inner)
                if let capture { emit(.save(2 * capture + 1)) }
            case .alternate(let branches):
                var jumps: [Int] = []
                for (i, branch) in branches.enumerated() {
                    if i < branches.count - 1 {
                        let split = program.count
                        emit(.split(split + 1, -1))
                        try compile(branch)
                        jumps.append(program.count)
                        emit(.jump(-1))
                        program[split] = .split(split + 1, program.count)
                    } else {
                        try compile(branch)
                    }
                }
                for j in jumps { program[j] = .jump(program.count) }
            case .repetition(let inner, let min, let max, let greedy):
                for _ in 0..<min { try compile(inner) }
                if let max {
                    // Optional copies, nested so each one is only tried after the previous matched.
                    var splits: [Int] = []
                    for _ in min..<max {
                        splits.append(program.count)
                        emit(.split(-1, -1))
                        try compile(inner)
                    }
                    for s in splits { program[s] = greedy ? .split(s + 1, program.count) : .split(program.count, s + 1) }
                } else {
                    let loop = program.count
                    emit(.split(-1, -1))
                    try compile(inner)
                    emit(.jump(loop))
                    program[loop] = greedy ? .split(loop + 1, program.count) : .split(program.count, loop + 1)
                }
            }
        }
    }

    // MARK: Matching

    /// The leftmost-first match starting at or after `from` (or exactly at `from` when `anchored`),
    /// as capture slots (scalar offsets, -1 when a group did not take part).
    public func match(_ text: [Unicode.Scalar], from: Int = 0, anchored: Bool = false) -> [Int]? {
        let vm = PikeVM(program: self, text: text)
        return vm.run(from: from, anchored: anchored)
    }

    struct PikeVM {
        let program: RegexProgram
        let text: [Unicode.Scalar]

        init(program: RegexProgram, text: [Unicode.Scalar]) {
            self.program = program
            self.text = text
        }

        func run(from: Int, anchored: Bool) -> [Int]? {
            var current = ThreadList(size: program.instructions.count)
            var next = ThreadList(size: program.instructions.count)
            var matched: [Int]? = nil
            var pos = from
            let fresh = [Int](repeating: -1, count: program.slotCount)
            while true {
                if current.isEmpty && matched == nil && !anchored, let first = program.firstScalars {
                    // No thread in flight and none can start where the next scalar cannot begin a match.
                    while pos < text.count && !first.contains(text[pos].value) { pos += 1 }
                    if pos >= text.count { break }
                }
                if matched == nil && (!anchored || pos == from) {
                    addThread(&current, pc: 0, pos: pos, slots: fresh)
                }
                if current.isEmpty && (matched != nil || anchored) { break }
                let scalar: UInt32? = pos < text.count ? text[pos].value : nil
                for t in 0..<current.count {
                    let (pc, slots) = current.thread(t)
                    switch program.instructions[pc] {
                    case .match:
                        matched = slots
                        // Lower-priority threads are cut: leftmost-first semantics.
                        current.truncate(to: t + 1)
                    case .scalar(let v, let fold):
                        if let c = scalar, c == v || (fold && Self.foldEquals(c, v)) { addThread(&next, pc: pc + 1, pos: pos + 1, slots: slots) }
                    case .set(let set):
                        if let c = scalar, set.contains(c) { addThread(&next, pc: pc + 1, pos: pos + 1, slots: slots) }
                    case .any(let nl):
                        if let c = scalar, nl || c != 10 { addThread(&next, pc: pc + 1, pos: pos + 1, slots: slots) }
                    default:
                        break
                    }
                    if t + 1 >= current.count { break }
                }
                if pos >= text.count { break }
                swap(&current, &next)
                next.clear()
                pos += 1
            }
            return matched
        }

        /// Follows jumps, splits, saves and assertions, adding the threads that wait on input.
        func addThread(_ list: inout ThreadList, pc: Int, pos: Int, slots: [Int]) {
            if list.contains(pc) { return }
            list.mark(pc)
            switch program.instructions[pc] {
            case .jump(let target):
                addThread(&list, pc: target, pos: pos, slots: slots)
            case .split(let a, let b):
                addThread(&list, pc: a, pos: pos, slots: slots)
                addThread(&list, pc: b, pos: pos, slots: slots)
            case .save(let n):
                var s = slots
                s[n] = pos
                addThread(&list, pc: pc + 1, pos: pos, slots: s)
            case .assert(let a):
                if check(a, at: pos) { addThread(&list, pc: pc + 1, pos: pos, slots: slots) }
            default:
                list.append(pc: pc, slots: slots)
            }
        }

        func check(_ a: Assertion, at pos: Int) -> Bool {
            switch a {
            case .textStart: return pos == 0
            case .textEnd: return pos == text.count
            case .lineStart: return pos == 0 || text[pos - 1] == "\n"
            case .lineEnd: return pos == text.count || text[pos] == "\n"
            case .wordBoundary, .notWordBoundary:
                let before = pos > 0 && KeyScanner.isWordByte(text[pos - 1].value)
                let after = pos < text.count && KeyScanner.isWordByte(text[pos].value)
                return (before != after) == (a == .wordBoundary)
            }
        }

        static func foldEquals(_ a: UInt32, _ b: UInt32) -> Bool {
            func lower(_ x: UInt32) -> UInt32 { (65...90).contains(x) ? x + 32 : x }
            return lower(a) == lower(b)
        }
    }

    /// A sparse set of program counters with their capture slots, in priority order.
    struct ThreadList {
        private var dense: [Int]
        private var sparse: [Int]
        private var slots: [[Int]]
        private(set) var count = 0
        private var marked: [Bool]
        private var markedList: [Int] = []

        init(size: Int) {
            dense = [Int](repeating: 0, count: size)
            sparse = [Int](repeating: 0, count: size)
            slots = [[Int]](repeating: [], count: size)
            marked = [Bool](repeating: false, count: size)
        }

        var isEmpty: Bool { count == 0 }
        func contains(_ pc: Int) -> Bool { marked[pc] }
        mutating func mark(_ pc: Int) { marked[pc] = true; markedList.append(pc) }
        mutating func append(pc: Int, slots s: [Int]) {
            dense[count] = pc
            slots[count] = s
            count += 1
        }
        func thread(_ i: Int) -> (Int, [Int]) { (dense[i], slots[i]) }
        mutating func truncate(to n: Int) { count = min(count, n) }
        mutating func clear() {
            count = 0
            for pc in markedList { marked[pc] = false }
            markedList.removeAll(keepingCapacity: true)
        }
    }
}
