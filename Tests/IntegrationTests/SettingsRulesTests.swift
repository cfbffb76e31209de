import Integration
import Testing

@Suite("Settings rules")
struct SettingsRulesTests {
    @Test(
        "GitLab's Jira Cloud URL rule",
        arguments: [
            ("https://acme.atlassian.net", true), ("https://acme.atlassian.net/jira/", true), ("http://abc.atlassian.net", false),
            ("abc.atlassian.net", false), ("https://example.com\".atlassian.net", false), ("javascript://test.atlassian.net/x", false),
            ("https://atlassian.net", false), ("https://jira.example.com", false),
        ])
    func cloudURL(_ url: String, _ cloud: Bool) {
        #expect(JiraURL.isCloud(url) == cloud)
    }

    @Test("deployment detection: serverInfo first, then the URL")
    func detection() {
        #expect(
            DeploymentDetection.detect(serverInfoDeploymentType: "Cloud", serverInfoAnswered: true, clientURL: "https://jira.example.com") == .cloud)
        #expect(
            DeploymentDetection.detect(serverInfoDeploymentType: "Server", serverInfoAnswered: true, clientURL: "https://jira.example.com") == .server
        )
        #expect(
            DeploymentDetection.detect(serverInfoDeploymentType: "FutureCloud", serverInfoAnswered: true, clientURL: "https://a.atlassian.net")
                == .cloud)
        #expect(DeploymentDetection.detect(serverInfoDeploymentType: nil, serverInfoAnswered: false, clientURL: "https://a.atlassian.net") == .cloud)
        #expect(
            DeploymentDetection.detect(serverInfoDeploymentType: nil, serverInfoAnswered: false, clientURL: "https://jira.example.com") == .server)
        #expect(DeploymentDetection.detect(serverInfoDeploymentType: nil, serverInfoAnswered: false, clientURL: nil) == .unknown)
    }

    @Test("URLs parse into origin and context path")
    func urls() throws {
        let u = try #require(JiraURL("https://host.example.com:8443/jira/?x=1"))
        #expect(u.origin == "https://host.example.com:8443")
        #expect(u.contextPath == "/jira")
        #expect(u.endpoint("/rest/api/2/myself") == "https://host.example.com:8443/jira/rest/api/2/myself")
        #expect(JiraURL("http://[::1]:9000")?.host == "::1")
        for bad in ["example.com", "ftp://example.com", "herp-and-derp", "http://", "http://exa mple.com", "http://host:99999"] {
            #expect(JiraURL(bad) == nil, "\(bad)")
        }
    }

    @Test(
        "address classes for the outbound guard",
        arguments: [
            ("127.0.0.1", AddressClass.loopback), ("localhost", .loopback), ("10.0.0.1", .privateNetwork), ("172.16.5.4", .privateNetwork),
            ("172.32.0.1", .publicAddress), ("192.168.1.1", .privateNetwork), ("169.254.169.254", .linkLocal), ("0.0.0.0", .unspecified),
            ("::1", .loopback), ("::", .unspecified), ("fe80::1", .linkLocal), ("fd00::1", .privateNetwork), ("::ffff:10.0.0.1", .privateNetwork),
            ("8.8.8.8", .publicAddress), ("2001:4860:4860::8888", .publicAddress),
            // The URL standard's other spellings of IPv4 (what browsers and HTTP clients connect to).
            ("0x7f000001", .loopback), ("2130706433", .loopback), ("127.1", .loopback), ("0177.0.0.1", .loopback), ("0x7f.1", .loopback),
            ("127.0.0.1.", .loopback), ("012.0.0.1", .privateNetwork), ("010.0.0.1", .publicAddress), ("1.2.3", .publicAddress),
            // IANA's special-purpose blocks.
            ("198.18.0.1", .specialPurpose), ("198.19.255.255", .specialPurpose), ("224.0.0.1", .specialPurpose),
            ("255.255.255.255", .specialPurpose), ("240.0.0.1", .specialPurpose), ("192.0.2.1", .specialPurpose),
            ("198.51.100.7", .specialPurpose), ("203.0.113.9", .specialPurpose), ("192.0.0.8", .specialPurpose), ("100.64.0.1", .privateNetwork),
            // IPv6 forms that carry a refused IPv4 address: compatible, mapped, NAT64 and 6to4.
            ("[::127.0.0.1]", .loopback), ("[::ffff:127.0.0.1]", .loopback), ("[64:ff9b::7f00:1]", .loopback), ("[2002:7f00:1::]", .loopback),
            ("[64:ff9b::808:808]", .publicAddress), ("[2002:808:808::1]", .publicAddress), ("[ff02::1]", .specialPurpose),
            ("[2001:db8::1]", .specialPurpose), ("[2001::1]", .specialPurpose), ("[fec0::1]", .privateNetwork), ("[100::1]", .specialPurpose),
            // Hosts that end in a number but are no IPv4 address are refused, as browsers refuse them.
            ("1.2.3.256", .specialPurpose), ("0x1g", nil), ("1.2.3.4.5", .specialPurpose), ("4294967296", .specialPurpose),
        ] as [(String, AddressClass?)])
    func addresses(_ host: String, _ expected: AddressClass?) {
        #expect(AddressPolicy.classifyLiteral(host) == expected)
    }

    @Test("names are not literals")
    func names() {
        #expect(AddressPolicy.classifyLiteral("jira.example.com") == nil)
        #expect(AddressPolicy.classifyLiteral("jira.example.com.") == nil)
        #expect(AddressPolicy.classifyLiteral("0x.example.com") == nil)
    }

    @Test("trusted-proxy blocks match their addresses, IPv4 peers seen as mapped IPv6 too")
    func networks() throws {
        let net = try #require(IPNetwork("10.0.0.0/8"))
        #expect(net.contains(IPAddress(literal: "10.200.1.1")!))
        #expect(!net.contains(IPAddress(literal: "11.0.0.1")!))
        #expect(net.contains(IPAddress(literal: "::ffff:10.0.0.1")!))
        let one = try #require(IPNetwork("192.168.1.10"))
        #expect(one.contains(IPAddress(literal: "192.168.1.10")!) && !one.contains(IPAddress(literal: "192.168.1.11")!))
        let v6 = try #require(IPNetwork("fd00::/8"))
        #expect(v6.contains(IPAddress(literal: "fd12::1")!) && !v6.contains(IPAddress(literal: "fe80::1")!))
        #expect(IPNetwork("10.0.0.0/33") == nil && IPNetwork("nope") == nil && IPNetwork("10.0.0.0/") == nil)
    }

    @Test(
        "a transition list: ids and names separated by , or ;, lists per Jira project, empty elements left out",
        arguments: [
            ("1,2;3", ["1", "2", "3"], [:]), ("foo 23 bar", ["foo 23 bar"], [:]), ("", [], [:]), (" ; ,, ", [], [:]),
            ("Done", ["Done"], [:]), (" In Review , Done ", ["In Review", "Done"], [:]),
            ("Done; PROJ: 31, 41; OPS: Ship it", ["Done"], ["PROJ": ["31", "41"], "OPS": ["Ship it"]]),
            ("PROJ: 31;; OPS:Done", [], ["PROJ": ["31"], "OPS": ["Done"]]),
        ] as [(String, [String], [String: [String]])])
    func transitionLists(_ text: String, _ general: [String], _ byProject: [String: [String]]) throws {
        let list = try TransitionList.parse(text).get()
        #expect(list.steps.map(\.description) == general)
        #expect(Dictionary(uniqueKeysWithValues: list.byProject.map { ($0.key, $0.steps.map(\.description)) }) == byProject)
        for (key, steps) in byProject { #expect(list.steps(for: "\(key)-7").map(\.description) == steps) }
        #expect(list.steps(for: "OTHER-1").map(\.description) == general)
        #expect(TransitionList.Step("31") == .id("31") && TransitionList.Step("3 1") == .name("3 1"))
    }

    @Test(
        "a transition list that cannot be read says why, in GitLab's style",
        arguments: [
            ("PROJ:", "give no transition for PROJ"), ("PROJ: ; OPS: Done", "give no transition for PROJ"),
            (": Done", "have an empty Jira project key"),
            ("proj: Done", "name proj as a Jira project"), ("PROJ: 1; PROJ: 2", "name PROJ twice"),
            (String(repeating: "x", count: 256), "longer than 255"), (Array(repeating: "1", count: 101).joined(separator: ","), "more than 100"),
        ])
    func transitionListErrors(_ text: String, _ expected: String) {
        guard case .failure(let error) = TransitionList.parse(text) else {
            Issue.record("\(text.prefix(40)) was read")
            return
        }
        #expect(error.message.contains(expected), "\(error.message)")
        var settings = JiraSettings()
        settings.transitionID = text
        let errors = SettingsValidator(allowLocalRequests: true).validate(settings)
        #expect(errors.messages(for: "jira_issue_transition_id").first?.hasPrefix("Jira issue transitions ") == true, "\(errors.fullMessages)")
    }

    @Test("closing_branches: names and * patterns; blank is the default branch; an empty pattern is refused")
    func closingBranches() {
        var s = JiraSettings()
        #expect(s.isClosingBranch("main", defaultBranch: "main") && !s.isClosingBranch("release/1.0", defaultBranch: "main"))
        s.closingBranches = "main, release/*, hotfix-*-final"
        for (branch, closes) in [
            ("main", true), ("release/1.0", true), ("release/", true), ("releases/1", false), ("feature/x", false), ("hotfix-12-final", true),
            ("hotfix-12-final2", false), ("develop", false),
        ] {
            #expect(s.isClosingBranch(branch, defaultBranch: "develop") == closes, "\(branch)")
        }
        #expect(BranchPatterns.parseStrict("main,,release/*") == nil && BranchPatterns.parseStrict("main, ") == nil)
        #expect(BranchPatterns.matches("a/b/c", pattern: "*") && BranchPatterns.matches("a*b", pattern: "a*b"))
    }

    @Test("a blank jira_issue_transition_id is accepted and saved as blank, as GitLab's allow_blank does")
    func blankTransitionID() throws {
        var current = JiraSettings()
        current.transitionID = "31"
        for blank in [" ", "   ", "\t"] {
            let update = try SettingsUpdate(parameters: ["jira_issue_transition_id": .string(blank)])
            #expect(update.transitionID == "")
            let saved = update.applied(to: current)
            #expect(saved.transitionID == "" && saved.transitionList.isEmpty)
        }
    }

    @Test("Atlassian's gateway is a Cloud URL; a service account on it needs no Basic auth")
    func gateway() {
        #expect(JiraURL.isGateway("https://api.atlassian.com/ex/jira/4a1d9e2c-7b3f-4c8e-9d21-6f0a5b7c3e19"))
        #expect(JiraURL.isCloud("https://api.atlassian.com/ex/jira/4a1d9e2c-7b3f-4c8e-9d21-6f0a5b7c3e19"))
        for other in [
            "https://api.atlassian.com/ex/jira", "https://api.atlassian.com/ex/confluence/1", "http://api.atlassian.com/ex/jira/1",
            "https://api.atlassian.com.evil.example/ex/jira/1", "https://api.atlassian.com/ex/jira/1/more",
        ] {
            #expect(!JiraURL.isGateway(other), "\(other)")
        }
        var s = JiraSettings()
        s.active = true
        s.url = "https://acme.atlassian.net"
        s.apiURL = "https://api.atlassian.com/ex/jira/4a1d9e2c"
        s.authType = JiraAuthType.serviceAccount.rawValue
        s.password = "scoped-token"
        #expect(SettingsValidator(allowLocalRequests: false).validate(s).isEmpty)
        s.username = "someone@example.com"
        #expect(SettingsValidator(allowLocalRequests: false).validate(s).messages(for: "username") == ["must be blank"])
        s.authType = JiraAuthType.personalAccessToken.rawValue
        s.username = nil
        #expect(!SettingsValidator(allowLocalRequests: false).validate(s).messages(for: "base").isEmpty, "a PAT on Cloud stays refused")
    }

    @Test("project keys are stripped, blanks and duplicates dropped")
    func projectKeys() {
        #expect(SettingsUpdate.cleanProjectKeys([" A ", "", "A", "B", "  "]) == ["A", "B"])
    }

    @Test("secret rules when applying an update")
    func secretRules() throws {
        var current = JiraSettings()
        current.url = "https://jira.example.com"
        current.password = "old"
        var blank = SettingsUpdate()
        blank.password = ""
        #expect(blank.applied(to: current).password == "old")
        var moved = SettingsUpdate()
        moved.url = "https://jira2.example.com"
        #expect(moved.applied(to: current).password == nil)
        var same = SettingsUpdate()
        same.url = "https://jira.example.com/"
        #expect(same.applied(to: current).password == "old", "a trailing slash is not a change")
        var movedWithSecret = moved
        movedWithSecret.password = "new"
        #expect(movedWithSecret.applied(to: current).password == "new")
        var username = SettingsUpdate()
        username.username = "bob"
        #expect(username.applied(to: current).password == "old")
    }

    @Test("loose parameter types are coerced as Grape does, and refused when they cannot be")
    func coercion() throws {
        let u = try SettingsUpdate(parameters: [
            "active": .string("true"), "jira_auth_type": .string("1"), "commit_events": .number(0),
            "project_keys": .string("A,B"),
        ])
        #expect(u.active == true)
        #expect(u.authType == 1)
        #expect(u.commitEvents == false)
        #expect(u.projectKeys == ["A", "B"])
        #expect(throws: SettingsUpdate.InvalidParameter(name: "active")) { try SettingsUpdate(parameters: ["active": .string("maybe")]) }
        #expect(throws: SettingsUpdate.InvalidParameter(name: "url")) { try SettingsUpdate(parameters: ["url": .list([])]) }
    }

    @Test("full messages read like Rails'")
    func fullMessages() {
        var s = JiraSettings()
        s.active = true
        s.url = "nope"
        let errors = SettingsValidator(allowLocalRequests: true).validate(s)
        #expect(errors.fullMessages == "Url must be a valid URL, Username can't be blank, Password can't be blank")
    }
}
