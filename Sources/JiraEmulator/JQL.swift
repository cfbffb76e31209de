import Foundation

/// A JQL error, with Jira's wording where the emulator knows it.
public struct JQLError: Error, Sendable, Equatable {
    public let message: String
}

/// The part of JQL that jira-bridge sends: clauses joined by AND, parenthesised ORs,
/// `=`, `!=`, `~`, `in (...)`, `not in (...)`, and `order by`.
struct JQLQuery {
    indirect enum Expr {
        case and([Expr])
        case or([Expr])
        case clause(field: String, op: String, values: [String])
    }

    var expr: Expr?
    var order: [(field: String, ascending: Bool)]

    static let reservedWords: Set<String> = [
        "a", "an", "abort", "access", "add", "after", "alias", "all", "alter", "and", "any", "as", "asc", "audit", "avg",
        "before", "begin", "between", "boolean", "break", "by", "byte", "catch", "cf", "char", "character", "check",
        "checkpoint", "collate", "collation", "column", "commit", "connect", "continue", "count", "create", "current",
        "date", "decimal", "declare", "decrement", "default", "defaults", "define", "delete", "delimiter", "desc",
        "difference", "distinct", "divide", "do", "double", "drop", "else", "empty", "encoding", "end", "equals",
        "escape", "exclusive", "exec", "execute", "exists", "explain", "false", "fetch", "file", "field", "first",
        "float", "for", "from", "function", "go", "goto", "grant", "greater", "group", "having", "identified", "if",
        "immediate", "in", "increment", "index", "initial", "inner", "inout", "input", "insert", "int", "integer",
        "intersect", "intersection", "into", "is", "isempty", "isnull", "join", "last", "left", "less", "like", "limit",
        "lock", "long", "max", "min", "minus", "mode", "modify", "modulo", "more", "multiply", "next", "noaudit", "not",
        "notin", "nowait", "null", "number", "object", "of", "on", "option", "or", "order", "outer", "output", "power",
        "previous", "prior", "privileges", "public", "raise", "raw", "remainder", "rename", "resource", "return",
        "returns", "revoke", "right", "row", "rowid", "rownum", "rows", "select", "session", "set", "share", "size",
        "sqrt", "start", "strict", "string", "subtract", "sum", "synonym", "table", "then", "to", "trans", "transaction",
        "trigger", "true", "uid", "union", "unique", "update", "user", "validate", "values", "view", "when", "whenever",
        "where", "while", "with",
    ]

    // MARK: Parsing

    static func parse(_ text: String) throws(JQLError) -> JQLQuery {
        var lexer = Lexer(Array(text.unicodeScalars))
        let tokens = try lexer.tokens()
        var p = Parser(tokens: tokens)
        return try p.query()
    }

    enum Token: Equatable {
        case word(String)
        case quoted(String)
        case op(String)
        case lparen, rparen, comma
    }

    struct Lexer {
        let s: [Unicode.Scalar]
        var i = 0
        init(_ s: [Unicode.Scalar]) { self.s = s }

        mutating func tokens() throws(JQLError) -> [Token] {
            var out: [Token] = []
            while i < s.count {
                let c = s[i]
                if c.properties.isWhitespace { i += 1; continue }
                switch c {
                case "(": out.append(.lparen); i += 1
                case ")": out.append(.rparen); i += 1
                case ",": out.append(.comma); i += 1
                case "=", "~": out.append(.op(String(c))); i += 1
                case "!":
                    guard i + 1 < s.count, s[i + 1] == "=" || s[i + 1] == "~" else {
                        throw JQLError(message: "Error in the JQL Query: The character '!' is a reserved JQL character.")
                    }
                    out.append(.op("!" + String(s[i + 1]))); i += 2
                case "\"", "'":
                    let quote = c
                    i += 1
                    var value = String.UnicodeScalarView()
                    var closed = false
                    while i < s.count {
                        if s[i] == "\\", i + 1 < s.count { value.append(s[i + 1]); i += 2; continue }
                        if s[i] == quote { closed = true; i += 1; break }
                        value.append(s[i]); i += 1
                    }
                    guard closed else { throw JQLError(message: "Error in the JQL Query: The quoted string has not been completed.") }
                    out.append(.quoted(String(value)))
                default:
                    var value = String.UnicodeScalarView()
                    while i < s.count, !s[i].properties.isWhitespace, !"()=,~!\"'".unicodeScalars.contains(s[i]) {
                        if s[i] == "\\", i + 1 < s.count { value.append(s[i + 1]); i += 2; continue }
                        value.append(s[i]); i += 1
                    }
                    out.append(.word(String(value)))
                }
            }
            return out
        }
    }

    struct Parser {
        let tokens: [Token]
        var i = 0

        mutating func query() throws(JQLError) -> JQLQuery {
            var expr: Expr? = nil
            if i < tokens.count, !isWord("order") { expr = try andExpr() }
            var order: [(String, Bool)] = []
            if isWord("order") {
                i += 1
                guard isWord("by") else { throw JQLError(message: "Error in the JQL Query: Expecting 'by' but got the end of the query.") }
                i += 1
                repeat {
                    if i < tokens.count, case .comma = tokens[i] { i += 1 }
                    guard i < tokens.count, case .word(let field) = tokens[i] else {
                        throw JQLError(message: "Error in the JQL Query: Expecting a field name.")
                    }
                    i += 1
                    var asc = false
                    if isWord("asc") { asc = true; i += 1 } else if isWord("desc") { i += 1 }
                    order.append((field.lowercased(), asc))
                } while i < tokens.count && tokens[i] == .comma
            }
            if i < tokens.count {
                throw JQLError(message: "Error in the JQL Query: Expecting either 'OR' or 'AND' but got '\(describe(tokens[i]))'.")
            }
            return JQLQuery(expr: expr, order: order)
        }

        func isWord(_ w: String) -> Bool {
            guard i < tokens.count, case .word(let x) = tokens[i] else { return false }
            return x.lowercased() == w
        }

        func describe(_ t: Token) -> String {
            switch t {
            case .word(let w), .quoted(let w), .op(let w): return w
            case .lparen: return "("
            case .rparen: return ")"
            case .comma: return ","
            }
        }

        mutating func andExpr() throws(JQLError) -> Expr {
            var items = [try orExpr()]
            while isWord("and") { i += 1; items.append(try orExpr()) }
            return items.count == 1 ? items[0] : .and(items)
        }

        mutating func orExpr() throws(JQLError) -> Expr {
            var items = [try primary()]
            while isWord("or") { i += 1; items.append(try primary()) }
            return items.count == 1 ? items[0] : .or(items)
        }

        mutating func primary() throws(JQLError) -> Expr {
            guard i < tokens.count else { throw JQLError(message: "Error in the JQL Query: Expecting a field name but got the end of the query.") }
            if tokens[i] == .lparen {
                i += 1
                let e = try andExpr()
                guard i < tokens.count, tokens[i] == .rparen else {
                    throw JQLError(message: "Error in the JQL Query: Expecting ')' before the end of the query.")
                }
                i += 1
                return e
            }
            guard case .word(let field) = tokens[i] else {
                throw JQLError(message: "Error in the JQL Query: Expecting a field name but got '\(describe(tokens[i]))'.")
            }
            i += 1
            var op: String
            if i < tokens.count, case .op(let o) = tokens[i] {
                op = o; i += 1
            } else if isWord("in") {
                op = "in"; i += 1
            } else if isWord("not") {
                i += 1
                guard isWord("in") else { throw JQLError(message: "Error in the JQL Query: Expecting 'in' after 'not'.") }
                op = "not in"; i += 1
            } else {
                throw JQLError(
                    message:
                        "Error in the JQL Query: Expecting operator but got '\(i < tokens.count ? describe(tokens[i]) : "the end of the query")'.")
            }
            var values: [String] = []
            if op == "in" || op == "not in" {
                guard i < tokens.count, tokens[i] == .lparen else { throw JQLError(message: "Error in the JQL Query: Expecting '(' after 'in'.") }
                i += 1
                while true {
                    values.append(try value())
                    if i < tokens.count, tokens[i] == .comma { i += 1; continue }
                    guard i < tokens.count, tokens[i] == .rparen else {
                        throw JQLError(message: "Error in the JQL Query: Expecting ')' before the end of the query.")
                    }
                    i += 1
                    break
                }
            } else {
                values.append(try value())
            }
            return .clause(field: field.lowercased(), op: op, values: values)
        }

        mutating func value() throws(JQLError) -> String {
            guard i < tokens.count else {
                throw JQLError(message: "Error in the JQL Query: Expecting either a value, list or function but got the end of the query.")
            }
            let t = tokens[i]
            i += 1
            switch t {
            case .quoted(let v): return v
            case .word(let w):
                if JQLQuery.reservedWords.contains(w.lowercased()) {
                    throw JQLError(
                        message:
                            "Error in the JQL Query: '\(w)' is a reserved JQL word. You must surround it in quotation marks to use it in a query.")
                }
                return w
            default:
                throw JQLError(message: "Error in the JQL Query: Expecting either a value, list or function but got '\(describe(t))'.")
            }
        }
    }

    // MARK: Evaluation

    func matches(_ issue: EmulatedIssue, statuses: [EmulatedStatus], users: [EmulatedUser]) -> Bool {
        guard let expr else { return true }
        return Self.eval(expr, issue, statuses, users)
    }

    static func eval(_ e: Expr, _ issue: EmulatedIssue, _ statuses: [EmulatedStatus], _ users: [EmulatedUser]) -> Bool {
        switch e {
        case .and(let xs): return xs.allSatisfy { eval($0, issue, statuses, users) }
        case .or(let xs): return xs.contains { eval($0, issue, statuses, users) }
        case .clause(let field, let op, let values):
            let status = statuses.first { $0.id == issue.statusID }
            func userMatches(_ name: String?, _ v: String) -> Bool {
                guard let name, let u = users.first(where: { $0.name == name }) else { return false }
                return [u.name, u.displayName, u.email, u.accountId].contains { $0.lowercased() == v.lowercased() }
            }
            let candidates: (String) -> Bool
            switch field {
            case "project": candidates = { $0.uppercased() == issue.projectKey.uppercased() }
            case "labels": candidates = { issue.labels.contains($0) }
            case "status": candidates = { $0.lowercased() == (status?.name.lowercased() ?? "") }
            case "statuscategory":
                candidates = { $0.lowercased() == (status?.categoryName.lowercased() ?? "") || $0.lowercased() == status?.categoryKey }
            case "reporter": candidates = { userMatches(issue.reporter, $0) }
            case "assignee": candidates = { userMatches(issue.assignee, $0) }
            case "id": candidates = { $0 == issue.id }
            case "key", "issuekey": candidates = { $0.uppercased() == issue.key }
            case "summary": candidates = { textMatches(issue.summary, $0) }
            case "description": candidates = { textMatches(issue.description ?? "", $0) }
            case "text": candidates = { textMatches(issue.summary + " " + (issue.description ?? ""), $0) }
            default: return false
            }
            switch op {
            case "=", "in", "~": return values.contains(where: candidates)
            case "!=", "not in", "!~": return !values.contains(where: candidates)
            default: return false
            }
        }
    }

    /// Jira's text search, simplified: every word of the query appears in the text.
    static func textMatches(_ text: String, _ query: String) -> Bool {
        let haystack = text.lowercased()
        let words = query.lowercased().split(whereSeparator: { $0.isWhitespace })
        return !words.isEmpty && words.allSatisfy { haystack.contains($0) }
    }

    func sorted(_ issues: [EmulatedIssue]) -> [EmulatedIssue] {
        let order = self.order.isEmpty ? [("created", false)] : self.order
        return issues.sorted { a, b in
            for (field, asc) in order {
                let (x, y): (Date, Date)
                switch field {
                case "updated": (x, y) = (a.updated, b.updated)
                default: (x, y) = (a.created, b.created)
                }
                if x != y { return asc ? x < y : x > y }
            }
            let an = Int(a.id) ?? 0, bn = Int(b.id) ?? 0
            return order.first?.1 == true ? an < bn : an > bn
        }
    }
}
