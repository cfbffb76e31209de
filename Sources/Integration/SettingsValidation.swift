/// Validation failures by field, in GitLab's shape: `{"url": ["must be a valid URL"]}`.
public struct ValidationErrors: Sendable, Equatable {
    public private(set) var byField: [(field: String, messages: [String])] = []

    public init() {}

    public var isEmpty: Bool { byField.isEmpty }

    public mutating func add(_ field: String, _ message: String) {
        if let i = byField.firstIndex(where: { $0.field == field }) {
            byField[i].messages.append(message)
        } else {
            byField.append((field, [message]))
        }
    }

    public func messages(for field: String) -> [String] {
        byField.first(where: { $0.field == field })?.messages ?? []
    }

    /// Rails' full messages (`"Url must be a valid URL"`; base errors unprefixed), joined by `, `.
    public var fullMessages: String {
        byField.flatMap { entry in
            entry.messages.map { entry.field == "base" ? $0 : "\(ValidationErrors.humanize(entry.field)) \($0)" }
        }.joined(separator: ", ")
    }

    static func humanize(_ field: String) -> String {
        let words = field.replacingUnderscores()
        return words.prefix(1).uppercased() + words.dropFirst()
    }

    public static func == (a: ValidationErrors, b: ValidationErrors) -> Bool {
        a.byField.map(\.field) == b.byField.map(\.field) && a.byField.map(\.messages) == b.byField.map(\.messages)
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(unicodeScalars.map { $0 == "_" ? " " : Character($0) })
    }
}

/// GitLab's validation rules for a Jira integration, as a pure function of the settings.
public struct SettingsValidator: Sendable {
    /// Whether local-network Jira URLs are allowed (`--allow-local-requests`).
    public var allowLocalRequests: Bool

    public static let maxURLLength = 2048
    public static let maxPatternLength = 255
    public static let maxProjectKeys = 100

    /// Local addresses allowed all the same (the outbound allowlist).
    public var allowedNetworks: [IPNetwork] = []

    public init(allowLocalRequests: Bool, allowedNetworks: [IPNetwork] = []) {
        self.allowLocalRequests = allowLocalRequests
        self.allowedNetworks = allowedNetworks
    }

    public func validate(_ s: JiraSettings) -> ValidationErrors {
        var errors = ValidationErrors()
        checkURL("url", s.url, required: s.active, into: &errors)
        checkURL("api_url", s.apiURL, required: false, into: &errors)
        for (field, value) in [
            ("username", s.username), ("password", s.password), ("jira_oauth_client_id", s.oauthClientID),
            ("jira_oauth_client_secret", s.oauthClientSecret),
        ] {
            if let value, value.count > SettingsValidator.maxURLLength {
                errors.add(field, "is too long (maximum is \(SettingsValidator.maxURLLength) characters)")
            } else if let value, CredentialText.hasControlCharacters(value) {
                errors.add(field, CredentialText.message)
            }
        }
        if s.active {
            if JiraAuthType(rawValue: s.authType) == nil {
                errors.add("jira_auth_type", "is not included in the list")
            }
            if s.authType == JiraAuthType.basic.rawValue, (s.username ?? "").trimmingWhitespace().isEmpty {
                errors.add("username", "can't be blank")
            }
            if s.authType == JiraAuthType.serviceAccount.rawValue {
                // A service account reaches Jira through Atlassian's gateway, as itself: the gateway URL is
                // required and a username must not be given.
                if (s.apiURL ?? "").isEmpty { errors.add("api_url", "can't be blank") }
                if !(s.username ?? "").trimmingWhitespace().isEmpty { errors.add("username", "must be blank") }
            }
            if (s.password ?? "").isEmpty {
                errors.add("password", "can't be blank")
            }
            if JiraURL.isCloud(s.clientURL) && s.authType == JiraAuthType.personalAccessToken.rawValue {
                errors.add("base", "For Jira Cloud, the authentication type must be Basic")
            }
        }
        if s.sendsToJiraCloudAPIs {
            // Only OAuth credentials for self-hosted tools may write development information, builds and
            // deployments; API tokens are refused there.
            if (s.oauthClientID ?? "").isEmpty { errors.add("jira_oauth_client_id", "can't be blank") }
            if (s.oauthClientSecret ?? "").isEmpty { errors.add("jira_oauth_client_secret", "can't be blank") }
        }
        if s.jiraStatusCheckEnabled && JiraIssueCheck.allowedStatuses(s.jiraAllowedStatuses).isEmpty {
            errors.add("jira_allowed_statuses_as_string", "can't be blank")
        }
        if s.jiraAllowedStatuses.count > 2000 { errors.add("jira_allowed_statuses_as_string", "is too long (maximum is 2000 characters)") }
        if case .failure(let problem) = TransitionList.parse(s.transitionID) {
            errors.add("jira_issue_transition_id", "Jira issue transitions " + problem.message)
        }
        if case .failure(let problem) = TransitionList.parse(s.mergeRequestOpenedTransition) {
            errors.add("merge_request_opened_transition", "Merge request opened transitions " + problem.message)
        }
        if BranchPatterns.parseStrict(s.closingBranches) == nil {
            errors.add("closing_branches", "can't have an empty branch name or pattern")
        }
        if s.closingBranches.count > 2000 { errors.add("closing_branches", "is too long (maximum is 2000 characters)") }
        checkPattern("jira_issue_regex", s.issueRegex, into: &errors)
        checkPattern("jira_issue_prefix", s.issuePrefix, into: &errors)
        if s.projectKeys.count > SettingsValidator.maxProjectKeys {
            errors.add("project_keys", "is too long (maximum is \(SettingsValidator.maxProjectKeys) entries)")
        }
        if s.vulnerabilitiesEnabled {
            if (s.projectKey ?? "").isEmpty { errors.add("project_key", "can't be blank") }
            if (s.vulnerabilitiesIssueType ?? "").isEmpty { errors.add("vulnerabilities_issuetype", "can't be blank") }
        }
        return errors
    }

    private func checkURL(_ field: String, _ value: String?, required: Bool, into errors: inout ValidationErrors) {
        guard let value, !value.isEmpty else {
            if required { errors.add(field, "can't be blank") }
            return
        }
        if value.count > SettingsValidator.maxURLLength {
            errors.add(field, "is too long (maximum is \(SettingsValidator.maxURLLength) characters)")
            return
        }
        guard let parsed = JiraURL(value) else {
            errors.add(field, "must be a valid URL")
            return
        }
        if JiraURL.hasUserInfo(value) {
            errors.add(field, "must not contain a user name or password (use the username and password fields)")
            return
        }
        let allowed = IPAddress(literal: parsed.host).map { a in allowedNetworks.contains { $0.contains(a) } } ?? false
        if !allowLocalRequests, !allowed, let cls = AddressPolicy.classifyLiteral(parsed.host), let refusal = cls.refusal {
            errors.add(field, "is blocked: \(refusal)")
        }
    }

    private func checkPattern(_ field: String, _ value: String, into errors: inout ValidationErrors) {
        guard !value.isEmpty else { return }
        if value.count > SettingsValidator.maxPatternLength {
            errors.add(field, "is too long (maximum is \(SettingsValidator.maxPatternLength) characters)")
            return
        }
        do {
            _ = try RegexParser.parse(value)
        } catch {
            errors.add(field, "not valid RE2 syntax: \(error.message)")
        }
    }
}
