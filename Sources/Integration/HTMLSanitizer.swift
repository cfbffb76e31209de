/// Cleans HTML that Jira rendered (issue descriptions, comments) before it is shown in a page or
/// returned by the API, with an allowlist: known formatting tags and a few attributes survive; scripts,
/// styles, frames, forms, event handlers and `javascript:`/`data:` URLs do not. Unknown tags are dropped
/// but their text is kept (escaped). The output is well formed: every open tag is closed.
public enum HTMLSanitizer {
    /// Tags kept, each with the attributes it may keep.
    static let allowed: [String: Set<String>] = [
        "a": ["href", "title"], "abbr": ["title"], "b": [], "blockquote": [], "br": [], "caption": [], "cite": [],
        "code": [], "dd": [], "del": [], "div": [], "dl": [], "dt": [], "em": [], "h1": [], "h2": [], "h3": [],
        "h4": [], "h5": [], "h6": [], "hr": [], "i": [], "img": ["src", "alt", "title", "width", "height"], "ins": [],
        "kbd": [], "li": [], "ol": [], "p": [], "pre": [], "q": [], "s": [], "samp": [], "small": [], "span": [],
        "strike": [], "strong": [], "sub": [], "sup": [], "table": [], "tbody": [], "td": ["colspan", "rowspan"],
        "tfoot": [], "th": ["colspan", "rowspan"], "thead": [], "tr": [], "tt": [], "u": [], "ul": [],
    ]
    /// Tags whose content goes with them.
    static let dropWithContent: Set<String> = [
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript", "noembed",
        "template", "svg", "math", "textarea", "select", "xmp", "plaintext", "title", "head",
    ]
    static let void: Set<String> = ["br", "hr", "img"]

    /// Where relative links and images of the HTML point, and the origin they must not point at.
    public struct Links: Sendable {
        /// The Jira web base (origin and context path) that rendered the HTML: relative URLs are made
        /// absolute against it, so they reach Jira and never the page's own server. Without it they are dropped.
        public var base: String?
        /// jira-bridge's own origin (`https://bridge.example.com`): links and images there are dropped, so
        /// Jira content cannot make a viewer's browser send requests to jira-bridge.
        public var refusedOrigin: String?

        public init(base: String? = nil, refusedOrigin: String? = nil) {
            self.base = base.map { b in
                var t = b; while t.hasSuffix("/") { t.removeLast() }; return t
            }
            self.refusedOrigin = refusedOrigin.flatMap { BrowserURL($0)?.origin }
        }
    }

    public static func sanitize(_ html: String, links: Links = Links()) -> String {
        let s = Array(html.unicodeScalars)
        var out = ""
        var open: [String] = []
        var i = 0
        while i < s.count {
            let c = s[i]
            if c == "<" {
                // Comments, CDATA, doctype and processing instructions are dropped.
                if starts(s, i, "<!--") {
                    i = find(s, from: i + 4, "-->").map { $0 + 3 } ?? s.count
                    continue
                }
                if i + 1 < s.count, s[i + 1] == "!" || s[i + 1] == "?" {
                    i = find(s, from: i + 2, ">").map { $0 + 1 } ?? s.count
                    continue
                }
                if let tag = parseTag(s, i) {
                    i = tag.end
                    if tag.closing {
                        if let idx = open.lastIndex(of: tag.name) {
                            while open.count > idx { out += "</\(open.removeLast())>" }
                        }
                        continue
                    }
                    if dropWithContent.contains(tag.name) {
                        // Skip to the matching end tag (or the end of the text).
                        i =
                            find(s, from: i, "</\(tag.name)", caseInsensitive: true).map { end in
                                find(s, from: end, ">").map { $0 + 1 } ?? s.count
                            } ?? s.count
                        continue
                    }
                    guard let permitted = allowed[tag.name] else { continue }
                    out += "<" + tag.name
                    for (name, value) in tag.attributes where permitted.contains(name) {
                        guard let safe = safeValue(name: name, value: value, tag: tag.name, links: links) else { continue }
                        out += " \(name)=\"\(escape(safe, attribute: true))\""
                    }
                    if tag.name == "a" { out += " rel=\"noopener noreferrer nofollow\"" }
                    out += ">"
                    if !void.contains(tag.name) {
                        // `<u/>` is not a thing in HTML: written as an empty element so the output stays balanced.
                        if tag.selfClosing { out += "</\(tag.name)>" } else { open.append(tag.name) }
                    }
                    continue
                }
                out += "&lt;"
                i += 1
                continue
            }
            if c == "&" {
                // A well-formed character reference passes; a bare ampersand is escaped.
                if let end = entityEnd(s, i) {
                    out += String(String.UnicodeScalarView(s[i..<end]))
                    i = end
                } else {
                    out += "&amp;"
                    i += 1
                }
                continue
            }
            switch c {
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.unicodeScalars.append(c)
            }
            i += 1
        }
        while let name = open.popLast() { out += "</\(name)>" }
        return out
    }

    /// Escapes text for HTML content or a double-quoted attribute.
    public static func escape(_ text: String, attribute: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += attribute ? "&#39;" : "'"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    // MARK: Attribute values

    static func safeValue(name: String, value: String, tag: String, links: Links) -> String? {
        let decoded = decodeEntities(value)
        switch name {
        case "href", "src":
            guard isSafeURL(decoded, image: name == "src"), let absolute = absolute(decoded, links: links, image: name == "src") else { return nil }
            guard absolute.lowercased().hasPrefix("http") else { return absolute }
            // Written back as a browser reads it, so the origin checked is the one it would request: a spelling
            // of jira-bridge's own origin (`:443`, `\`, a tab, `0x7f.1`) is caught, one it cannot read is dropped.
            guard let url = BrowserURL(absolute), url.origin != links.refusedOrigin else { return nil }
            return url.text
        case "width", "height", "colspan", "rowspan":
            return decoded.allSatisfy(\.isASCII) && Int(decoded) != nil ? decoded : nil
        default:
            return decoded
        }
    }

    /// `url` made absolute against the Jira base; nil for a relative URL with no base. A fragment-only
    /// link (`#section`) stays as it is: it requests nothing.
    static func absolute(_ url: String, links: Links, image: Bool) -> String? {
        // A browser drops tabs and newlines anywhere in a URL before reading it.
        let trimmed = String(String.UnicodeScalarView(url.unicodeScalars.filter { $0 != "\t" && $0 != "\n" && $0 != "\r" })).trimmingWhitespace()
        let lower = trimmed.lowercased()
        if lower.hasPrefix("http:") || lower.hasPrefix("https:") || lower.hasPrefix("mailto:") { return trimmed }
        if trimmed.hasPrefix("#") && !image { return trimmed }
        // Protocol-relative and backslash forms name another host in a browser's eyes: not worth guessing.
        if trimmed.hasPrefix("//") || trimmed.hasPrefix("\\") || trimmed.hasPrefix("/\\") { return nil }
        guard let base = links.base, let jira = JiraURL(base) else { return nil }
        if trimmed.hasPrefix("/") { return jira.origin + trimmed }
        return base + "/" + trimmed
    }

    /// http, https and mailto URLs (images: http and https), and relative ones. Control characters and
    /// whitespace that browsers ignore inside a scheme are removed before the scheme is read.
    public static func isSafeURL(_ url: String, image: Bool = false) -> Bool {
        let compact = String(String.UnicodeScalarView(url.unicodeScalars.filter { $0.value > 0x20 && $0.value != 0x7F }))
        let lower = compact.lowercased()
        guard let colon = lower.firstIndex(of: ":") else { return true }
        // A colon after the first `/`, `?` or `#` is not a scheme: relative.
        if let stop = lower.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }), stop < colon { return true }
        let scheme = lower[..<colon]
        return image ? ["http", "https"].contains(scheme) : ["http", "https", "mailto"].contains(scheme)
    }

    // MARK: Tokenizing

    struct Tag {
        var name: String
        var closing: Bool
        var selfClosing: Bool
        var attributes: [(String, String)]
        var end: Int
    }

    /// A tag starting at `i` (`<name ...>` or `</name>`), or nil when the `<` does not start one.
    static func parseTag(_ s: [Unicode.Scalar], _ start: Int) -> Tag? {
        var i = start + 1
        var closing = false
        if i < s.count, s[i] == "/" { closing = true; i += 1 }
        guard i < s.count, isASCIILetter(s[i]) else { return nil }
        var name = ""
        while i < s.count, isASCIILetter(s[i]) || ("0"..."9").contains(s[i]) {
            name.unicodeScalars.append(s[i]); i += 1
        }
        name = name.lowercased()
        var attributes: [(String, String)] = []
        var selfClosing = false
        while i < s.count {
            let c = s[i]
            if c == ">" { return Tag(name: name, closing: closing, selfClosing: selfClosing, attributes: attributes, end: i + 1) }
            if c == "/" { selfClosing = true; i += 1; continue }
            if isSpace(c) { i += 1; continue }
            selfClosing = false
            var attr = ""
            while i < s.count, !isSpace(s[i]), s[i] != ">", s[i] != "=", s[i] != "/" {
                attr.unicodeScalars.append(s[i]); i += 1
            }
            while i < s.count, isSpace(s[i]) { i += 1 }
            var value = ""
            if i < s.count, s[i] == "=" {
                i += 1
                while i < s.count, isSpace(s[i]) { i += 1 }
                if i < s.count, s[i] == "\"" || s[i] == "'" {
                    let quote = s[i]
                    i += 1
                    while i < s.count, s[i] != quote { value.unicodeScalars.append(s[i]); i += 1 }
                    i += 1
                } else {
                    while i < s.count, !isSpace(s[i]), s[i] != ">" { value.unicodeScalars.append(s[i]); i += 1 }
                }
            }
            if !attr.isEmpty { attributes.append((attr.lowercased(), value)) }
        }
        // An unterminated tag: everything after `<` is text.
        return nil
    }

    static func isASCIILetter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
    static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0C}" }

    static func starts(_ s: [Unicode.Scalar], _ i: Int, _ text: String) -> Bool {
        let t = Array(text.unicodeScalars)
        guard i + t.count <= s.count else { return false }
        for k in 0..<t.count where s[i + k] != t[k] { return false }
        return true
    }

    static func find(_ s: [Unicode.Scalar], from: Int, _ text: String, caseInsensitive: Bool = false) -> Int? {
        let t = Array((caseInsensitive ? text.lowercased() : text).unicodeScalars)
        guard !t.isEmpty, from + t.count <= s.count else { return nil }
        for i in from...(s.count - t.count) {
            var ok = true
            for k in 0..<t.count {
                var c = s[i + k]
                if caseInsensitive, ("A"..."Z").contains(c) { c = Unicode.Scalar(c.value + 32)! }
                if c != t[k] { ok = false; break }
            }
            if ok { return i }
        }
        return nil
    }

    /// The end of a character reference at `i` (`&name;`, `&#123;`, `&#x1F;`), or nil.
    static func entityEnd(_ s: [Unicode.Scalar], _ i: Int) -> Int? {
        var j = i + 1
        if j < s.count, s[j] == "#" {
            j += 1
            let hex = j < s.count && (s[j] == "x" || s[j] == "X")
            if hex { j += 1 }
            let digitsStart = j
            while j < s.count, hex ? s[j].properties.isASCIIHexDigit : ("0"..."9").contains(s[j]) { j += 1 }
            guard j > digitsStart, j - digitsStart <= 8, j < s.count, s[j] == ";" else { return nil }
            return j + 1
        }
        let nameStart = j
        while j < s.count, isASCIILetter(s[j]) || ("0"..."9").contains(s[j]) { j += 1 }
        guard j > nameStart, j - nameStart <= 32, j < s.count, s[j] == ";" else { return nil }
        return j + 1
    }

    /// Decodes numeric references and the common named ones (enough to read a URL's scheme as a browser
    /// would).
    static func decodeEntities(_ text: String) -> String {
        // By scalar: `String.contains` compares characters, and a prepended mark (U+070F, say) makes `܏&` one
        // character, which would hide the reference from this check but not from the next pass (fuzz: html).
        guard text.unicodeScalars.contains("&") else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        let named: [String: String] = [
            "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "colon": ":", "tab": "\t",
            "newline": "\n", "nbsp": "\u{A0}", "sol": "/", "lpar": "(", "rpar": ")",
        ]
        while i < s.count {
            if s[i] == "&" {
                var j = i + 1
                if j < s.count, s[j] == "#" {
                    j += 1
                    let hex = j < s.count && (s[j] == "x" || s[j] == "X")
                    if hex { j += 1 }
                    var digits = ""
                    while j < s.count, hex ? s[j].properties.isASCIIHexDigit : ("0"..."9").contains(s[j]), digits.count < 8 {
                        digits.unicodeScalars.append(s[j]); j += 1
                    }
                    if !digits.isEmpty, let v = UInt32(digits, radix: hex ? 16 : 10), let scalar = Unicode.Scalar(v) {
                        out.append(scalar)
                        i = j < s.count && s[j] == ";" ? j + 1 : j
                        continue
                    }
                } else {
                    var name = ""
                    while j < s.count, isASCIILetter(s[j]), name.count < 10 { name.unicodeScalars.append(s[j]); j += 1 }
                    if let value = named[name.lowercased()] {
                        out.append(contentsOf: value.unicodeScalars)
                        i = j < s.count && s[j] == ";" ? j + 1 : j
                        continue
                    }
                }
            }
            out.append(s[i])
            i += 1
        }
        return String(out)
    }
}
