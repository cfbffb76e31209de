/// Smart commits (`smart_commits_enabled`): commands in a commit message that act on the issues it names, as
/// Atlassian's syntax has them (`../shared/reference/jira/smart-commits.md`):
///
///     PROJ-1 PROJ-2 fix the login #time 1w 2d 4h 30m Total work logged #comment corrected indent #resolve
///
/// - A command is `#` and a word (starting with a letter) after a space or at a line's start; its argument runs
///   to the next command on the same line, or the line's end (a command never spans lines).
/// - Commands apply to every key named before the first command.
/// - `#comment <text>` adds a comment; `#time <duration> [<text>]` logs work, the duration as written
///   (`1w 2d 4h 30m`, each value may be a decimal), so Jira applies the site's time-tracking settings;
///   any other `#<name> [<text>]` takes the transition of that name (hyphens for spaces, without case, or the
///   first word of a transition's name), and adds the text as a comment.
public enum SmartCommits {
    public enum Command: Sendable, Equatable {
        case comment(String)
        case time(duration: String, comment: String)
        case transition(name: String, comment: String)
    }

    /// Keys and commands of one commit message: nothing when no key comes before the first command.
    public struct Parsed: Sendable, Equatable {
        public var keys: [String]
        public var commands: [Command]

        public init(keys: [String], commands: [Command]) {
            self.keys = keys
            self.commands = commands
        }
    }

    /// The most commands read from one message.
    public static let maxCommands = 20
    /// The longest argument kept (a comment is cut there).
    public static let maxArgument = 4000

    public static func parse(_ message: String, extractor: ReferenceExtractor) -> Parsed {
        var commands: [Command] = []
        var keyText: String? = nil
        for line in message.split(separator: "\n", omittingEmptySubsequences: false) {
            let marks = commandStarts(line)
            guard !marks.isEmpty else { continue }
            if keyText == nil { keyText = String(message[message.startIndex..<marks[0].hash]) }
            for (i, mark) in marks.enumerated() where commands.count < maxCommands {
                let end = i + 1 < marks.count ? marks[i + 1].hash : line.endIndex
                let name = String(line[mark.nameStart..<mark.nameEnd]).lowercased()
                let argument = String(String(line[mark.nameEnd..<end]).trimmingWhitespace().prefix(maxArgument))
                commands.append(command(name, argument))
            }
        }
        guard let before = keyText else { return Parsed(keys: [], commands: []) }
        let keys = extractor.allKeys(before)
        return keys.isEmpty ? Parsed(keys: [], commands: []) : Parsed(keys: keys, commands: commands)
    }

    static func command(_ name: String, _ argument: String) -> Command {
        switch name {
        case "comment": return .comment(argument)
        case "time":
            // The duration's tokens (`1w`, `2.5h`), then the comment.
            var tokens: [Substring] = []
            var rest = Substring(argument)
            while let token = rest.split(separator: " ", maxSplits: 1).first, isDuration(token) {
                tokens.append(token)
                rest = rest.dropFirst(token.count).drop { $0 == " " || $0 == "\t" }
            }
            return .time(duration: tokens.joined(separator: " "), comment: String(rest))
        default: return .transition(name: name, comment: argument)
        }
    }

    /// `1w`, `2d`, `4h`, `30m`, `1.5h`: a number (decimals allowed) and a unit.
    static func isDuration(_ token: Substring) -> Bool {
        guard let unit = token.last, "wdhm".contains(unit), token.count >= 2, token.count <= 12 else { return false }
        let number = token.dropLast()
        var dots = 0
        for c in number.unicodeScalars {
            if c == "." { dots += 1 } else if !("0"..."9").contains(c) { return false }
        }
        return dots <= 1 && number.first != "." && number.last != "."
    }

    /// Where each command of a line starts: its `#` and its word (letters, digits, `-`, `_`, starting with a letter).
    static func commandStarts(_ line: Substring) -> [(hash: String.Index, nameStart: String.Index, nameEnd: String.Index)] {
        var out: [(String.Index, String.Index, String.Index)] = []
        var i = line.startIndex
        var previous: Character? = nil
        while i < line.endIndex {
            let c = line[i]
            if c == "#", previous == nil || previous!.isWhitespace {
                let nameStart = line.index(after: i)
                var j = nameStart
                if j < line.endIndex, line[j].isASCII, line[j].isLetter {
                    while j < line.endIndex, line[j].isASCII, line[j].isLetter || line[j].isNumber || line[j] == "-" || line[j] == "_" {
                        j = line.index(after: j)
                    }
                    if j == line.endIndex || line[j].isWhitespace {
                        out.append((i, nameStart, j))
                        previous = line[line.index(before: j)]
                        i = j
                        continue
                    }
                }
            }
            previous = c
            i = line.index(after: i)
        }
        return out
    }

    /// The transition a smart commit's `#name` takes among those offered: the one whose name, with hyphens for
    /// spaces and without case, is `name`; else the one whose name's first word is `name`. Nil and the names
    /// offered when there is none or more than one.
    public static func transition(_ name: String, offered: [OfferedTransition]) -> Result<OfferedTransition, SmartCommandError> {
        func spelled(_ n: String) -> String { n.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: "-") }
        let wanted = name.lowercased()
        var matching = offered.filter { spelled($0.name) == wanted }
        if matching.isEmpty { matching = offered.filter { spelled($0.name).split(separator: "-").first.map(String.init) == wanted } }
        let names = offered.isEmpty ? "none" : offered.prefix(30).map { "#" + spelled($0.name) }.joined(separator: ", ")
        switch matching.count {
        case 1: return .success(matching[0])
        case 0: return .failure(SmartCommandError(message: "#\(name) is no transition the issue offers; it offers \(names)"))
        default:
            return .failure(
                SmartCommandError(
                    message:
                        "#\(name) names \(matching.count) transitions (\(matching.map(\.name).joined(separator: ", "))); write more of the name: \(names)"
                ))
        }
    }
}

public struct SmartCommandError: Error, Sendable, Equatable {
    public var message: String
}
