/// What a credential may contain: it travels in an HTTP header (Basic, Bearer, a webhook token), where a
/// control character (a pasted line break above all) is refused by the HTTP client, which then quotes the
/// header, secret and all, in its error.
public enum CredentialText {
    /// Whether `text` holds a control character (U+0000 to U+001F, U+007F), CR and LF among them.
    public static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    /// The longest credential sent in a header: servers refuse far shorter header lists (Jira's Tomcat 8 KB to
    /// 64 KB), so a longer stored value is never sent.
    public static let maxHeaderBytes = 16_384

    /// GitLab's words for a credential that holds one.
    public static let message = "cannot contain line breaks or other control characters"
}
