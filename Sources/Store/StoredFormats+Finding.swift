import Integration

/// A finding as stored in `vulnerabilities.finding`: the field names of `SecurityReport.Finding`, keys
/// sorted, absent optionals left out (what rows written before this format, through `Codable`, hold too).
enum StoredFinding {
    static func text(_ f: SecurityReport.Finding) -> String {
        var writer = JSONWriter()
        writer.value(json(f))
        return writer.text
    }

    static func json(_ f: SecurityReport.Finding) -> JSONValue {
        var doc: [String: JSONValue] = [
            "reportType": .string(f.reportType),
            "scanner": .object(["id": .string(f.scanner.id), "name": .string(f.scanner.name)]),
            "title": .string(f.title),
            "severity": .string(f.severity),
            "location": location(f.location),
            "identifiers": .array(
                f.identifiers.map { i in
                    optional(["type": .string(i.type), "name": .string(i.name), "value": .string(i.value)], ["url": i.url])
                }),
            "links": .array(f.links.map { l in optional(["url": .string(l.url)], ["name": l.name]) }),
            "fingerprint": .string(f.fingerprint),
        ]
        if let d = f.description { doc["description"] = .string(d) }
        if let s = f.solution { doc["solution"] = .string(s) }
        if let e = f.evidence {
            doc["evidence"] = optional(
                [
                    "requestHeaders": .array(e.requestHeaders.map(JSONValue.string)),
                    "responseHeaders": .array(e.responseHeaders.map(JSONValue.string)),
                ],
                ["method": e.method, "url": e.url, "responseStatus": e.responseStatus])
        }
        return .object(doc)
    }

    static func location(_ l: SecurityReport.Location) -> JSONValue {
        var doc = optional(
            [:],
            [
                "file": l.file, "className": l.className, "method": l.method, "packageName": l.packageName,
                "packageVersion": l.packageVersion, "image": l.image, "operatingSystem": l.operatingSystem,
                "hostname": l.hostname, "path": l.path, "param": l.param,
            ])
        if case .object(var members) = doc {
            if let n = l.startLine { members["startLine"] = .number(Double(n)) }
            if let n = l.endLine { members["endLine"] = .number(Double(n)) }
            doc = .object(members)
        }
        return doc
    }

    /// `members` plus the optional texts that are there.
    static func optional(_ members: [String: JSONValue], _ texts: [String: String?]) -> JSONValue {
        var all = members
        for (name, text) in texts { if let text { all[name] = .string(text) } }
        return .object(all)
    }

    /// The finding a row holds; nil when the text is not one (a row no version wrote).
    static func finding(_ text: String) -> SecurityReport.Finding? {
        guard let doc = try? JSONValue.parse(text), let scanner = doc["scanner"], let l = doc["location"] else { return nil }
        guard let reportType = doc["reportType"]?.string, let title = doc["title"]?.string, let severity = doc["severity"]?.string,
            let fingerprint = doc["fingerprint"]?.string, let scannerID = scanner["id"]?.string, let scannerName = scanner["name"]?.string
        else { return nil }
        var location = SecurityReport.Location()
        location.file = l["file"]?.string
        location.startLine = l["startLine"]?.integer.flatMap { Int(exactly: $0) }
        location.endLine = l["endLine"]?.integer.flatMap { Int(exactly: $0) }
        location.className = l["className"]?.string
        location.method = l["method"]?.string
        location.packageName = l["packageName"]?.string
        location.packageVersion = l["packageVersion"]?.string
        location.image = l["image"]?.string
        location.operatingSystem = l["operatingSystem"]?.string
        location.hostname = l["hostname"]?.string
        location.path = l["path"]?.string
        location.param = l["param"]?.string
        let identifiers = (doc["identifiers"]?.array ?? []).compactMap { i -> SecurityReport.Identifier? in
            guard let type = i["type"]?.string, let name = i["name"]?.string, let value = i["value"]?.string else { return nil }
            return SecurityReport.Identifier(type: type, name: name, value: value, url: i["url"]?.string)
        }
        let links = (doc["links"]?.array ?? []).compactMap { l -> SecurityReport.Link? in
            l["url"]?.string.map { SecurityReport.Link(name: l["name"]?.string, url: $0) }
        }
        let evidence = doc["evidence"].map { e in
            SecurityReport.Evidence(
                method: e["method"]?.string, url: e["url"]?.string,
                requestHeaders: (e["requestHeaders"]?.array ?? []).compactMap(\.string),
                responseStatus: e["responseStatus"]?.string,
                responseHeaders: (e["responseHeaders"]?.array ?? []).compactMap(\.string))
        }
        return SecurityReport.Finding(
            reportType: reportType, scanner: SecurityReport.Scanner(id: scannerID, name: scannerName), title: title,
            description: doc["description"]?.string, severity: severity, location: location,
            identifiers: identifiers, links: links, solution: doc["solution"]?.string, evidence: evidence,
            fingerprint: fingerprint)
    }
}
