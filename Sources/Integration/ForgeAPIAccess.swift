/// Where jira-bridge reaches a forge's API, for what it says back (commit statuses, branches): the URL a
/// project or group saved, else the forge's API beside the project's web address.
public enum ForgeAPIAccess {
    /// The forge's API for a project whose web address starts with `forgeBaseURL` (`https://gitlab.example.com`):
    /// GitLab `/api/v4`; github.com `https://api.github.com`, GitHub Enterprise `/api/v3`; Gitea and Forgejo
    /// `/api/v1`.
    public static func defaultURL(forge: Forge, forgeBaseURL: String) -> String {
        let base = forgeBaseURL.hasSuffix("/") ? String(forgeBaseURL.dropLast()) : forgeBaseURL
        switch forge {
        case .gitlab: return base + "/api/v4"
        case .github:
            let host = JiraURL(base)?.host.lowercased()
            return host == "github.com" || host == "www.github.com" ? "https://api.github.com" : base + "/api/v3"
        case .gitea: return base + "/api/v1"
        }
    }

    /// What is wrong with a `forge_api_url`, or nil (blank means the forge's default).
    public static func urlProblem(_ text: String) -> String? {
        guard !text.isEmpty else { return nil }
        guard text.count <= 2048 else { return "forge_api_url is too long (maximum is 2048 characters)" }
        guard JiraURL(text) != nil, !text.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
            return "forge_api_url is invalid: it must be an absolute http or https URL"
        }
        if JiraURL.hasUserInfo(text) {
            return "forge_api_url is invalid: it must not contain a user name or password (the token goes in forge_api_token)"
        }
        return nil
    }

    /// What is wrong with a `forge_api_token`, or nil. It travels in a header: no control character, at most
    /// 1024 characters (GitHub's fine-grained tokens are about 93).
    public static func tokenProblem(_ text: String) -> String? {
        guard text.utf8.count <= 1024 else { return "forge_api_token is too long (maximum is 1024 characters)" }
        guard !CredentialText.hasControlCharacters(text) else { return "forge_api_token \(CredentialText.message)" }
        return nil
    }
}
