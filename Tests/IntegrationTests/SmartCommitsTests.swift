import Integration
import Testing

/// Smart-commit syntax, with the edge cases of Atlassian's pages (`../shared/reference/jira/smart-commits.md`).
@Suite("Smart commit syntax")
struct SmartCommitSyntaxTests {
    static let extractor = try! ReferenceExtractor()

    static func parse(_ text: String) -> SmartCommits.Parsed { SmartCommits.parse(text, extractor: extractor) }

    @Test("Atlassian's examples: commands on one line or several, each to the next command or the line's end")
    func examples() {
        #expect(Self.parse("JRA-34 #comment corrected indent issue") == .init(keys: ["JRA-34"], commands: [.comment("corrected indent issue")]))
        #expect(
            Self.parse("JRA-34 #time 1w 2d 4h 30m Total work logged")
                == .init(keys: ["JRA-34"], commands: [.time(duration: "1w 2d 4h 30m", comment: "Total work logged")]))
        #expect(
            Self.parse("JRA-090 #close Fixed this today")
                == .init(keys: ["JRA-090"], commands: [.transition(name: "close", comment: "Fixed this today")]))
        #expect(
            Self.parse("JRA-123 #time 2d 5h #comment Task completed ahead of schedule #resolve").commands == [
                .time(duration: "2d 5h", comment: ""), .comment("Task completed ahead of schedule"), .transition(name: "resolve", comment: ""),
            ])
        #expect(
            Self.parse("JRA-123 #comment a long comment\n#time 1.5h").commands == [.comment("a long comment"), .time(duration: "1.5h", comment: "")])
    }

    @Test("commands apply to every key before the first one; keys after it are text; no key before means nothing")
    func keys() {
        #expect(Self.parse("PROJ-1 and OPS-2: done #comment see PROJ-3").keys == ["PROJ-1", "OPS-2"])
        #expect(Self.parse("#comment PROJ-1 is fixed") == .init(keys: [], commands: []))
        #expect(Self.parse("PROJ-1 fix the login") == .init(keys: [], commands: []), "no command")
    }

    @Test("what is no command: #123, a # inside a word, a # followed by punctuation; #time without a duration logs nothing")
    func notCommands() {
        #expect(Self.parse("PROJ-1 fixes #123 and C#code and #!").commands.isEmpty)
        #expect(Self.parse("PROJ-1 #time soon").commands == [.time(duration: "", comment: "soon")])
        #expect(Self.parse("PROJ-1 #time 1.5.5h 2x").commands == [.time(duration: "", comment: "1.5.5h 2x")])
        let many = "PROJ-1 " + Array(repeating: "#comment x", count: 50).joined(separator: " ")
        #expect(Self.parse(many).commands.count == SmartCommits.maxCommands)
    }

    @Test("a transition is matched by its name with hyphens for spaces, or by its first word, without case")
    func transitionNames() throws {
        let offered = [
            OfferedTransition(id: "11", name: "Start Progress", targetCategoryKey: nil),
            OfferedTransition(id: "21", name: "Finish Work", targetCategoryKey: nil),
            OfferedTransition(id: "22", name: "Finish Review", targetCategoryKey: nil),
        ]
        #expect(try SmartCommits.transition("start-progress", offered: offered).get().id == "11")
        #expect(try SmartCommits.transition("START", offered: offered).get().id == "11")
        #expect(try SmartCommits.transition("finish-work", offered: offered).get().id == "21")
        guard case .failure(let ambiguous) = SmartCommits.transition("finish", offered: offered) else {
            Issue.record("an ambiguous first word was taken")
            return
        }
        #expect(ambiguous.message.contains("names 2 transitions (Finish Work, Finish Review)"))
    }
}
