/// The extra Jira fields of issues created from vulnerabilities (beyond GitLab): a JSON object of field
/// ids and values, at most 10,000 characters, that cannot replace the fields jira-bridge sets itself.
public enum ExtraFields {
    public static let reserved: Set<String> = ["project", "issuetype", "summary", "description"]
    public static let maxCharacters = 10_000

    /// What is wrong with the setting's `text`, given its parse (`parsed`: the JSON object it holds, nil
    /// when it is not one); nil when it is fine. An empty text means no extra fields.
    public static func problem(_ text: String, parsed: [String: JSONValue]?) -> String? {
        if text.isEmpty { return nil }
        if text.count > maxCharacters { return "is too long (maximum is 10000 characters)" }
        guard let fields = parsed else { return "must be a JSON object of Jira field ids and values" }
        let clash = fields.keys.filter { reserved.contains($0) }.sorted()
        if !clash.isEmpty { return "cannot set \(clash.joined(separator: ", ")): jira-bridge sets them" }
        return nil
    }
}
