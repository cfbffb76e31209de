/// A list of workflow transitions as `jira_issue_transition_id` and `merge_request_opened_transition` take it:
/// GitLab's ids (`31, 41` or `31;41`), transition names (`Done`, `In Review`), and lists per Jira project
/// (`Done; PROJ: 31, 41; OPS: Ship it`).
///
/// Elements are separated by `,` or `;`. One of digits only is an id; any other is a name, matched without case
/// against the transitions the issue offers. `KEY:` starts that Jira project's list, which runs to the next
/// `KEY:`; the elements before the first `KEY:` are the list of every other project. Empty elements are left out
/// (as GitLab does); a `KEY:` with no element, or an empty key, is a mistake. GitLab's reading of text around
/// digits (`foo 23 bar` as id 23) is not kept: that is a name.
public struct TransitionList: Sendable, Equatable {
    public enum Step: Sendable, Equatable, CustomStringConvertible {
        case id(String)
        case name(String)

        /// As written in a list (and stored in a delivery): the id's digits, or the name.
        public var description: String {
            switch self {
            case .id(let id): return id
            case .name(let name): return name
            }
        }

        /// A list element: digits only are an id, anything else a name.
        public init(_ text: String) {
            self = !text.isEmpty && text.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } ? .id(text) : .name(text)
        }
    }

    /// The list of the projects no `KEY:` names.
    public var steps: [Step] = []
    /// The lists of the projects named, in the order written.
    public var byProject: [(key: String, steps: [Step])] = []

    /// The most elements a list holds, and the longest element.
    public static let maxElements = 100
    public static let maxElementLength = 255

    public static func == (a: TransitionList, b: TransitionList) -> Bool {
        a.steps == b.steps && a.byProject.map(\.key) == b.byProject.map(\.key) && a.byProject.map(\.steps) == b.byProject.map(\.steps)
    }

    public init() {}

    /// The list, or what is wrong with it (a sentence for the field's validation error).
    public static func parse(_ text: String) -> Result<TransitionList, TransitionListError> {
        var list = TransitionList()
        var current: Int? = nil  // index in byProject of the list being read
        var count = 0
        for raw in text.split(whereSeparator: { $0 == "," || $0 == ";" }) {
            var element = String(raw).trimmingWhitespace()
            if let colon = element.firstIndex(of: ":") {
                let key = String(element[..<colon]).trimmingWhitespace()
                guard !key.isEmpty else { return .failure(.init("have an empty Jira project key before a colon")) }
                guard isProjectKey(key) else {
                    return .failure(
                        .init("name \(key.prefix(40)) as a Jira project, but a project key is capital letters, digits and _, starting with a letter"))
                }
                if let previous = current, list.byProject[previous].steps.isEmpty {
                    return .failure(.init("give no transition for \(list.byProject[previous].key)"))
                }
                guard !list.byProject.contains(where: { $0.key == key }) else { return .failure(.init("name \(key) twice")) }
                list.byProject.append((key, []))
                current = list.byProject.count - 1
                element = String(element[element.index(after: colon)...]).trimmingWhitespace()
            }
            guard !element.isEmpty else { continue }
            guard element.count <= maxElementLength else {
                return .failure(.init("have a transition longer than \(maxElementLength) characters"))
            }
            count += 1
            guard count <= maxElements else { return .failure(.init("have more than \(maxElements) transitions")) }
            if let i = current { list.byProject[i].steps.append(Step(element)) } else { list.steps.append(Step(element)) }
        }
        if let last = current, list.byProject[last].steps.isEmpty {
            return .failure(.init("give no transition for \(list.byProject[last].key)"))
        }
        return .success(list)
    }

    /// The list for `issueKey`'s Jira project (`PROJ` of `PROJ-12`): its own, else the general one.
    public func steps(for issueKey: String) -> [Step] {
        let project = issueKey.lastIndex(of: "-").map { String(issueKey[..<$0]) } ?? issueKey
        return byProject.first { $0.key == project }?.steps ?? steps
    }

    public var isEmpty: Bool { steps.isEmpty && byProject.isEmpty }

    static func isProjectKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, ("A"..."Z").contains(first), key.utf8.count <= 255 else { return false }
        return key.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}

/// What is wrong with a transition list, as the end of a sentence (`Jira issue transitions give no transition
/// for OPS`).
public struct TransitionListError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
