/// Security scanner reports turned into findings: GitLab's security report formats (SAST, dependency
/// scanning, container scanning, DAST, secret detection; the public security-report-schemas) and SARIF
/// 2.1.0. Unknown fields are ignored; a missing or mistyped required field is an error that names it.
public enum SecurityReport {
    public struct Finding: Sendable, Equatable {
        /// `sast`, `dependency_scanning`, `container_scanning`, `dast`, `secret_detection`, ... or `sarif`.
        public var reportType: String
        public var scanner: Scanner
        public var title: String
        public var description: String?
        /// critical, high, medium, low, info or unknown.
        public var severity: String
        public var location: Location
        public var identifiers: [Identifier]
        public var links: [Link]
        public var solution: String?
        public var evidence: Evidence?
        /// Stable across uploads: scanner, location and primary identifier.
        public var fingerprint: String

        public init(
            reportType: String, scanner: Scanner, title: String, description: String?, severity: String, location: Location,
            identifiers: [Identifier], links: [Link], solution: String?, evidence: Evidence?, fingerprint: String
        ) {
            self.reportType = reportType
            self.scanner = scanner
            self.title = title
            self.description = description
            self.severity = severity
            self.location = location
            self.identifiers = identifiers
            self.links = links
            self.solution = solution
            self.evidence = evidence
            self.fingerprint = fingerprint
        }
    }

    public struct Scanner: Sendable, Equatable {
        public var id: String
        public var name: String

        public init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }

    public struct Location: Sendable, Equatable {
        public var file: String?
        public var startLine: Int?
        public var endLine: Int?
        public var className: String?
        public var method: String?
        public var packageName: String?
        public var packageVersion: String?
        public var image: String?
        public var operatingSystem: String?
        public var hostname: String?
        public var path: String?
        public var param: String?

        public init() {}
    }

    public struct Identifier: Sendable, Equatable {
        public var type: String
        public var name: String
        public var value: String
        public var url: String?

        public init(type: String, name: String, value: String, url: String?) {
            self.type = type
            self.name = name
            self.value = value
            self.url = url
        }
    }

    public struct Link: Sendable, Equatable {
        public var name: String?
        public var url: String

        public init(name: String?, url: String) {
            self.name = name
            self.url = url
        }
    }

    public struct Evidence: Sendable, Equatable {
        public var method: String?
        public var url: String?
        public var requestHeaders: [String]
        public var responseStatus: String?
        public var responseHeaders: [String]

        public init(method: String?, url: String?, requestHeaders: [String], responseStatus: String?, responseHeaders: [String]) {
            self.method = method
            self.url = url
            self.requestHeaders = requestHeaders
            self.responseStatus = responseStatus
            self.responseHeaders = responseHeaders
        }
    }

    /// What a report held: its kind, its scanner, and its findings.
    public struct Parsed: Sendable, Equatable {
        public var format: String
        public var reportType: String
        public var scanners: [Scanner]
        public var findings: [Finding]
    }

    /// A report that does not have the shape it must have; `field` is a path such as `vulnerabilities[2].location`.
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var field: String
        public var problem: String
        public var description: String { "\(field) \(problem)" }
    }

    public static let gitLabTypes: Set<String> = [
        "sast", "dependency_scanning", "container_scanning", "dast", "secret_detection",
        "cluster_image_scanning", "api_fuzzing", "coverage_fuzzing",
    ]
    static let severities: Set<String> = ["critical", "high", "medium", "low", "info", "unknown"]

    /// Reads a report: SARIF when it has `runs`, a GitLab report when it has `vulnerabilities`.
    public static func parse(_ doc: JSONValue) throws(Invalid) -> Parsed {
        guard case .object(let root) = doc else { throw Invalid(field: "the report", problem: "must be a JSON object") }
        if root["runs"] != nil { return try parseSARIF(root) }
        if root["vulnerabilities"] != nil { return try parseGitLab(root) }
        throw Invalid(field: "the report", problem: "is neither a GitLab security report (no \"vulnerabilities\") nor SARIF 2.1.0 (no \"runs\")")
    }

    // MARK: GitLab

    static func parseGitLab(_ root: [String: JSONValue]) throws(Invalid) -> Parsed {
        let scan = root["scan"]?.object
        guard let type = scan?["type"]?.string else {
            throw Invalid(field: "scan.type", problem: "is missing (one of \(gitLabTypes.sorted().joined(separator: ", ")))")
        }
        guard gitLabTypes.contains(type) else {
            throw Invalid(
                field: "scan.type", problem: "\"\(type)\" is not a GitLab report type (one of \(gitLabTypes.sorted().joined(separator: ", ")))")
        }
        let scanScanner = scan?["scanner"].flatMap(scannerOf)
        guard case .array(let items) = root["vulnerabilities"]! else {
            throw Invalid(field: "vulnerabilities", problem: "must be an array")
        }
        var findings: [Finding] = []
        var scanners: [Scanner] = scanScanner.map { [$0] } ?? []
        for (i, item) in items.enumerated() {
            let at = "vulnerabilities[\(i)]"
            guard case .object(let v) = item else { throw Invalid(field: at, problem: "must be an object") }
            guard case .array(let rawIDs)? = v["identifiers"], !rawIDs.isEmpty else {
                throw Invalid(field: "\(at).identifiers", problem: "is missing or empty (a finding needs at least one identifier)")
            }
            var identifiers: [Identifier] = []
            for (k, raw) in rawIDs.enumerated() {
                guard let type = raw["type"]?.string, let value = raw["value"]?.string ?? raw["value"]?.integer.map({ String($0) }) else {
                    throw Invalid(field: "\(at).identifiers[\(k)]", problem: "needs a string \"type\" and \"value\"")
                }
                identifiers.append(Identifier(type: type, name: raw["name"]?.string ?? value, value: value, url: raw["url"]?.string))
            }
            guard case .object(let loc)? = v["location"] else {
                throw Invalid(field: "\(at).location", problem: "is missing (it must be an object)")
            }
            var location = Location()
            location.file = loc["file"]?.string
            location.startLine = try lineNumber(loc["start_line"], field: "\(at).location.start_line")
            location.endLine = try lineNumber(loc["end_line"], field: "\(at).location.end_line")
            location.className = loc["class"]?.string
            location.method = loc["method"]?.string
            location.packageName = loc["dependency"]?["package"]?["name"]?.string
            location.packageVersion = loc["dependency"]?["version"]?.string
            location.image = loc["image"]?.string
            location.operatingSystem = loc["operating_system"]?.string
            location.hostname = loc["hostname"]?.string
            location.path = loc["path"]?.string
            location.param = loc["param"]?.string
            let scanner = v["scanner"].flatMap(scannerOf) ?? scanScanner ?? Scanner(id: type, name: type)
            if !scanners.contains(scanner) { scanners.append(scanner) }
            var severity = (v["severity"]?.string ?? "unknown").lowercased()
            if !severities.contains(severity) { severity = "unknown" }
            let title = nonEmpty(v["name"]?.string) ?? nonEmpty(v["message"]?.string) ?? identifiers[0].name
            var links: [Link] = []
            for raw in v["links"]?.array ?? [] { if let url = raw["url"]?.string { links.append(Link(name: raw["name"]?.string, url: url)) } }
            var evidence: Evidence? = nil
            if let ev = v["evidence"]?.object {
                evidence = Evidence(
                    method: ev["request"]?["method"]?.string, url: ev["request"]?["url"]?.string,
                    requestHeaders: headers(ev["request"]?["headers"]),
                    responseStatus: ev["response"]?["status_code"]?.integer.map { String($0) } ?? ev["response"]?["status_code"]?.string,
                    responseHeaders: headers(ev["response"]?["headers"]))
            }
            let locationKey = locationFingerprint(type: type, location)
            findings.append(
                Finding(
                    reportType: type, scanner: scanner, title: title, description: nonEmpty(v["description"]?.string),
                    severity: severity, location: location, identifiers: identifiers, links: links,
                    solution: nonEmpty(v["solution"]?.string), evidence: evidence,
                    fingerprint: fingerprint(scanner: scanner.id, location: locationKey, primary: identifiers[0])))
        }
        return Parsed(format: "gitlab", reportType: type, scanners: scanners, findings: findings)
    }

    static func scannerOf(_ v: JSONValue) -> Scanner? {
        guard let id = v["id"]?.string else { return nil }
        return Scanner(id: id, name: v["name"]?.string ?? id)
    }

    static func headers(_ v: JSONValue?) -> [String] {
        (v?.array ?? []).compactMap { h in h["name"]?.string.map { "\($0) : \(h["value"]?.string ?? "")" } }
    }

    /// GitLab's location fingerprints, per report type.
    static func locationFingerprint(type: String, _ l: Location) -> String {
        switch type {
        case "dependency_scanning": return "\(l.file ?? ""):\(l.packageName ?? "")"
        case "container_scanning", "cluster_image_scanning":
            let image = l.image.map { i in i.split(separator: ":").count > 1 && !i.hasSuffix("]") ? String(i[..<i.lastIndex(of: ":")!]) : i } ?? ""
            return "\(image):\(l.packageName ?? "")"
        case "dast", "api_fuzzing": return "\(l.hostname ?? ""):\(l.param ?? ""):\(l.path ?? "")"
        default: return "\(l.file ?? ""):\(l.startLine.map(String.init) ?? ""):\(l.endLine.map(String.init) ?? "")"
        }
    }

    // MARK: SARIF 2.1.0

    static func parseSARIF(_ root: [String: JSONValue]) throws(Invalid) -> Parsed {
        if let version = root["version"]?.string, version != "2.1.0" {
            throw Invalid(field: "version", problem: "is \"\(version)\"; only SARIF 2.1.0 is read")
        }
        guard case .array(let runs)? = root["runs"] else { throw Invalid(field: "runs", problem: "must be an array") }
        var findings: [Finding] = []
        var scanners: [Scanner] = []
        for (r, run) in runs.enumerated() {
            guard let driver = run["tool"]?["driver"]?.object, let name = driver["name"]?.string else {
                throw Invalid(field: "runs[\(r)].tool.driver.name", problem: "is missing")
            }
            let scanner = Scanner(id: name.lowercased().replacingAll(" ", with: "_"), name: name)
            if !scanners.contains(scanner) { scanners.append(scanner) }
            var rules: [String: JSONValue] = [:]
            var ruleList: [JSONValue] = []
            for rule in driver["rules"]?.array ?? [] {
                ruleList.append(rule)
                if let id = rule["id"]?.string { rules[id] = rule }
            }
            guard let results = run["results"]?.array ?? (run["results"] == nil ? [] : nil) else {
                throw Invalid(field: "runs[\(r)].results", problem: "must be an array")
            }
            for (i, result) in results.enumerated() {
                let at = "runs[\(r)].results[\(i)]"
                guard case .object(let res) = result else { throw Invalid(field: at, problem: "must be an object") }
                guard let message = res["message"]?["text"]?.string ?? res["message"]?["markdown"]?.string else {
                    throw Invalid(field: "\(at).message.text", problem: "is missing")
                }
                var ruleID = res["ruleId"]?.string
                var rule: JSONValue? = ruleID.flatMap { rules[$0] }
                if rule == nil, let index = (res["ruleIndex"] ?? res["rule"]?["index"])?.integer, index >= 0, index < ruleList.count {
                    rule = ruleList[Int(index)]
                    ruleID = ruleID ?? rule?["id"]?.string
                }
                // Some tools (Gitleaks 7) give no rule at all: the message's first line names the finding.
                let rid = ruleID ?? res["rule"]?["id"]?.string ?? String(message.split(separator: "\n").first ?? "result")
                var location = Location()
                let firstLocation = res["locations"]?.array?.first
                if let physical = firstLocation?["physicalLocation"] {
                    location.file = physical["artifactLocation"]?["uri"]?.string
                    location.startLine = try lineNumber(
                        physical["region"]?["startLine"], field: "\(at).locations[0].physicalLocation.region.startLine")
                    location.endLine = try lineNumber(physical["region"]?["endLine"], field: "\(at).locations[0].physicalLocation.region.endLine")
                }
                let title =
                    nonEmpty(rule?["shortDescription"]?["text"]?.string) ?? nonEmpty(rule?["name"]?.string)
                    ?? String(message.split(separator: "\n").first ?? Substring(rid))
                let fullDescription = nonEmpty(rule?["fullDescription"]?["text"]?.string)
                let description = fullDescription.map { $0 == message ? $0 : "\(message)\n\n\($0)" } ?? message
                var identifiers = [Identifier(type: "sarif_rule", name: rid, value: rid, url: rule?["helpUri"]?.string)]
                for tag in rule?["properties"]?["tags"]?.array ?? [] {
                    guard let t = tag.string?.lowercased() else { continue }
                    if let n = cweNumber(t) {
                        let cwe = Identifier(type: "cwe", name: "CWE-\(n)", value: String(n), url: "https://cwe.mitre.org/data/definitions/\(n).html")
                        if !identifiers.contains(cwe) { identifiers.append(cwe) }
                    }
                }
                var links: [Link] = []
                if let help = rule?["helpUri"]?.string { links.append(Link(name: nil, url: help)) }
                let severity = sarifSeverity(result: res, rule: rule)
                let locationKey: String
                if let partial = res["partialFingerprints"]?.object, let key = partial.keys.sorted().first, let value = partial[key]?.string {
                    locationKey = "\(location.file ?? ""):\(key)=\(value)"
                } else {
                    // A location's own message tells apart findings at one place (Trivy: one package each).
                    locationKey =
                        "\(location.file ?? ""):\(location.startLine.map(String.init) ?? ""):\(location.endLine.map(String.init) ?? "")"
                        + (firstLocation?["message"]?["text"]?.string.map { ":\($0)" } ?? "")
                }
                findings.append(
                    Finding(
                        reportType: "sarif", scanner: scanner, title: title, description: description, severity: severity,
                        location: location, identifiers: identifiers, links: links, solution: nil, evidence: nil,
                        fingerprint: fingerprint(scanner: scanner.id, location: locationKey, primary: identifiers[0])))
            }
        }
        return Parsed(format: "sarif", reportType: "sarif", scanners: scanners, findings: findings)
    }

    /// `security-severity` (a CVSS score, on the result or its rule) when present, else the level.
    static func sarifSeverity(result: [String: JSONValue], rule: JSONValue?) -> String {
        let raw = result["properties"]?["security-severity"] ?? rule?["properties"]?["security-severity"]
        if let score = raw?.string.flatMap(Double.init) ?? raw?.number {
            switch score {
            case 9...: return "critical"
            case 7..<9: return "high"
            case 4..<7: return "medium"
            case 0.1..<4: return "low"
            default: return "info"
            }
        }
        switch result["level"]?.string ?? rule?["defaultConfiguration"]?["level"]?.string ?? "warning" {
        case "error": return "high"
        case "warning": return "medium"
        case "note": return "low"
        case "none": return "info"
        default: return "unknown"
        }
    }

    /// A line number: absent stays nil; anything but a whole number from 0 to 2^31 is refused by name.
    static func lineNumber(_ value: JSONValue?, field: String) throws(Invalid) -> Int? {
        guard let value, !value.isNull else { return nil }
        guard let n = value.integer, n >= 0, n <= Int64(Int32.max) else {
            throw Invalid(field: field, problem: "must be a whole number from 0 to 2147483647")
        }
        return Int(n)
    }

    /// The number in a tag such as `external/cwe/cwe-079` or `CWE-79`.
    static func cweNumber(_ tag: String) -> Int? {
        let chars = Array(tag)
        guard chars.count >= 5 else { return nil }
        for i in 0...(chars.count - 4) where chars[i] == "c" && chars[i + 1] == "w" && chars[i + 2] == "e" && chars[i + 3] == "-" {
            let digits = chars[(i + 4)...].prefix(while: { $0.isASCII && $0.isNumber })
            if let n = Int(String(digits)) { return n }
        }
        return nil
    }

    // MARK: Fingerprints

    static func fingerprint(scanner: String, location: String, primary: Identifier) -> String {
        StableHash.hex("\(scanner)\u{1}\(location)\u{1}\(primary.type.lowercased()):\(primary.value)")
    }

    static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.trimmingWhitespace().isEmpty else { return nil }
        return s
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
