/// GitLab's Jira texts (wiki markup), word for word, except that text from the forge is escaped so it
/// cannot change the markup (a `|` in a name, a `{quote}` or `{html}` in a title), URLs are written so
/// they cannot end a link early, and everything is cut to Jira's limits.
public enum Texts {
    /// GitLab's answer when a project has no active Jira integration (API and pages alike).
    public static let notConfigured = "Jira service not configured."

    /// Jira's limits: a comment body holds at most 32,767 characters, a remote link title 255.
    public static let maxCommentCharacters = 32_767
    public static let maxLinkTitleCharacters = 255
    /// The quoted title in a comment is cut well below the comment limit, leaving room for the links.
    public static let maxQuoteCharacters = 16_000

    public enum Entity: Sendable {
        case commit
        /// A merge request (GitLab) or pull request (GitHub, Gitea).
        case mergeRequest

        func reference(on forge: Forge) -> String {
            switch self {
            case .commit: return "a commit"
            case .mergeRequest: return forge.changeReference
            }
        }

        func linkTitlePrefix(on forge: Forge) -> String {
            switch self {
            case .commit: return "Commit"
            case .mergeRequest: return forge.changeTitle
            }
        }
    }

    /// `[Name|base/username] mentioned this issue in [a commit|url] of [Group / Project|project url] on branch [b|tree url]:{quote}title{quote}`
    public static func mention(
        author: ForgeUser, forgeBaseURL: String, entity: Entity, entityURL: String, project: ForgeProject,
        branch: String?, title: String
    ) -> String {
        let userURL = wikiURL(forgeBaseURL + "/" + pathSegment(author.username))
        var text =
            "[\(linkText(author.name))|\(userURL)] mentioned this issue in [\(entity.reference(on: project.forge))|\(wikiURL(entityURL))] of [\(linkText(project.fullName))|\(wikiURL(project.webURL))]"
        if let branch, !branch.isEmpty {
            text += " on branch [\(linkText(branch))|\(wikiURL(project.forge.branchURL(project: project.webURL, branch: branch)))]"
        }
        text += ":{quote}\(quoteText(cut(title.trimmingTrailingNewlines(), to: maxQuoteCharacters))){quote}"
        return cut(text, to: maxCommentCharacters)
    }

    /// Text inside `[text|url]`: the characters that end or split a link, or open a macro, are escaped.
    static func linkText(_ s: String) -> String {
        escape(s, ["[", "]", "|", "{", "}"])
    }

    /// Text inside `{quote}`: braces are escaped so a title cannot close the quote or open a macro
    /// (`{html}`); brackets stay, so "[PROJ-1] Fix" reads as in GitLab's comments.
    static func quoteText(_ s: String) -> String {
        escape(s, ["{", "}"])
    }

    private static func escape(_ s: String, _ special: Set<Character>) -> String {
        guard s.contains(where: { special.contains($0) }) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for ch in s {
            if special.contains(ch) { out.append("\\") }
            out.append(ch)
        }
        return out
    }

    /// A URL in wiki markup: characters that would end the link (`]`, `|`, `[`, whitespace, braces) are
    /// percent-encoded, which leaves the URL the same to a browser.
    static func wikiURL(_ url: String) -> String {
        percentEncoding(url) { b in
            // Not brackets, bar, braces, space, quote, angle brackets, backslash, caret or backtick (a switch,
            // not a search of a string for each byte).
            switch b {
            case 0x5B, 0x5D, 0x7C, 0x7B, 0x7D, 0x20, 0x22, 0x3C, 0x3E, 0x5C, 0x5E, 0x60: return false
            default: return b > 0x20 && b < 0x7f
            }
        }
    }

    /// A branch or user name as one or more path segments: `/` stays (GitLab's tree URLs keep it),
    /// the rest that a path cannot hold is percent-encoded.
    public static func pathSegment(_ s: String) -> String {
        percentEncoding(s) { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || "-._~/!$&'()*+,=:@".utf8.contains(b)
        }
    }

    /// A query parameter value: only unreserved characters stay as they are.
    public static func queryValue(_ s: String) -> String {
        percentEncoding(s) { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || "-._~".utf8.contains(b)
        }
    }

    /// `text` with every UTF-8 byte that `keep` refuses written as `%XX`.
    static func percentEncoding(_ text: String, keep: (UInt8) -> Bool) -> String {
        guard !text.utf8.allSatisfy(keep) else { return text }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 16)
        for b in text.utf8 {
            if keep(b) { out.append(b) } else { out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xf)]] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// At most `limit` characters; a cut text ends with an ellipsis so a reader sees it was cut.
    public static func cut(_ s: String, to limit: Int) -> String {
        // Counting characters is linear; skip it for texts that are short in bytes.
        if s.utf8.count <= limit { return s }
        guard s.count > limit else { return s }
        return String(s.prefix(limit - 1)) + "…"
    }

    /// "Commit - Fix login", "Merge request - Add X" ("Pull request - Add X" on GitHub and Gitea).
    public static func linkTitle(entity: Entity, title: String, forge: Forge = .gitlab) -> String {
        cut("\(entity.linkTitlePrefix(on: forge)) - \(cut(title.trimmingTrailingNewlines(), to: maxLinkTitleCharacters))", to: maxLinkTitleCharacters)
    }

    /// A smart commit's `#comment`: the text, then who wrote it and in which commit (it is posted as the
    /// integration's Jira user).
    public static func smartComment(_ text: String, author: String, commitID: String, commitURL: String) -> String {
        cut(text, to: maxCommentCharacters - 600) + "\n\n— \(cut(author, to: 200)) in [\(commitID.prefix(8))|\(commitURL)] (smart commit)"
    }

    /// A smart commit's worklog comment: the text, who logged it and the commit's address (which marks it).
    public static func smartWorklog(_ text: String, author: String, commitURL: String) -> String {
        (text.isEmpty ? "" : cut(text, to: 3000) + " — ") + "\(cut(author, to: 200)), \(commitURL)"
    }

    public static func solved(commitID: String, commitURL: String) -> String {
        "Issue solved with [\(linkText(commitID))|\(wikiURL(commitURL))]."
    }

    public static func solvedLinkTitle(commitID: String) -> String {
        cut("Solved by commit \(commitID).", to: maxLinkTitleCharacters)
    }
}
