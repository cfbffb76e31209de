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
        var slug = ""
        var pendingHyphen = false
        for scalar in summary.prefix(1000).unicodeScalars {
            let letters: String
            if scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) {
                letters = String(scalar).lowercased()
            } else if let plain = plainLatin(scalar), !plain.isEmpty {
                letters = plain
            } else {
                pendingHyphen = true
                continue
            }
            if pendingHyphen && !slug.isEmpty { slug.append("-") }
            pendingHyphen = false
            slug += letters
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

    /// Latin letters with accents (Latin-1 and Latin Extended-A) as plain lowercase letters: `é` is `e`, `ß` is
    /// `ss`; nil outside those blocks.
    static func plainLatin(_ scalar: Unicode.Scalar) -> String? {
        switch scalar.value {
        case 0xC0...0xFF: return latin1[Int(scalar.value - 0xC0)]
        case 0x100...0x17F:
            let i = extendedA.index(extendedA.startIndex, offsetBy: Int(scalar.value - 0x100))
            return String(extendedA[i])
        default: return nil
        }
    }

    private static let latin1: [String] = [
        "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i", "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u",
        "u", "u", "y", "th", "ss", "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i", "d", "n", "o", "o", "o", "o",
        "o", "", "o", "u", "u", "u", "u", "y", "th", "y",
    ]
    /// U+0100 to U+017F, one plain letter each.
    private static let extendedA =
        "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkkllllllllllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs"
}
