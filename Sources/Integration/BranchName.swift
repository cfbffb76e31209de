import Foundation

/// Branch names for Jira's "Create branch": the suggestion (`PROJ-1-summary-as-a-slug`) and git's rules for a
/// branch name (`git check-ref-format --branch`), checked before the forge is asked.
public enum BranchName {
    /// The longest name suggested; the forges take longer ones, but a branch name is typed and read.
    public static let suggestedLength = 80
    /// The longest name accepted (GitHub's and GitLab's practical limit of a ref).
    public static let maxLength = 255

    /// A Jira issue key: a project key (a letter, then letters, digits or underscores), a hyphen, a number.
    public static func isIssueKey(_ key: String) -> Bool {
        guard key.utf8.count <= 255, let dash = key.lastIndex(of: "-") else { return false }
        let project = key[..<dash]
        let number = key[key.index(after: dash)...]
        guard let first = project.unicodeScalars.first, first.properties.isAlphabetic, first.isASCII else { return false }
        return project.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
            && !number.isEmpty && number.utf8.count <= 18 && number.allSatisfy(\.isASCII) && number.allSatisfy(\.isNumber)
    }

    /// The project part of a key (`PROJ` of `PROJ-12`).
    public static func projectKey(_ key: String) -> String {
        key.lastIndex(of: "-").map { String(key[..<$0]) } ?? key
    }

    /// `PROJ-1-<summary as a slug>`: letters and digits kept (accents dropped, lowercased), everything else one
    /// hyphen, cut at a hyphen to `suggestedLength`.
    public static func suggested(key: String, summary: String) -> String {
        let folded = summary.prefix(1000).folding(options: [.diacriticInsensitive, .caseInsensitive], locale: Locale(identifier: "en_US_POSIX"))
        var slug = ""
        var pendingHyphen = false
        for scalar in folded.unicodeScalars {
            if scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) {
                if pendingHyphen && !slug.isEmpty { slug.append("-") }
                pendingHyphen = false
                slug.unicodeScalars.append(scalar)
            } else {
                pendingHyphen = true
            }
        }
        var name = slug.isEmpty ? key : key + "-" + slug
        if name.count > suggestedLength {
            name = String(name.prefix(suggestedLength))
            if let cut = name.lastIndex(of: "-"), cut > name.index(name.startIndex, offsetBy: key.count) { name = String(name[..<cut]) }
        }
        return name
    }

    /// Why git would refuse `name` as a branch, or nil (the rules of `git check-ref-format --branch`).
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "The branch name is empty." }
        if name.utf8.count > maxLength { return "The branch name is longer than \(maxLength) bytes." }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || " ~^:?*[\\".unicodeScalars.contains($0) }) {
            return "A branch name cannot contain spaces, control characters or any of ~ ^ : ? * [ \\."
        }
        if name.hasPrefix("-") || name.hasPrefix("/") || name.hasSuffix("/") || name.hasSuffix(".") || name.hasSuffix(".lock") {
            return "A branch name cannot start with - or /, or end with /, . or .lock."
        }
        if name.contains("..") || name.contains("//") || name.contains("@{") || name == "@" {
            return "A branch name cannot contain .., //, or @{, or be @."
        }
        if name.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { return "No part of a branch name can start with a dot." }
        return nil
    }
}
