import Foundation
import Integration

/// `deliveries.work`: what a delivery does (see `StoredFormat` for the versions).
struct StoredWork: Codable {
    var work: DeliveryWork

    init(_ work: DeliveryWork) { self.work = work }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CaseKey.self)
        let format = try c.storedFormat()
        if c.contains(CaseKey("comment")) {
            // A labelled case: format 0 keeps `body` directly under the case key too.
            work = .comment(body: try c.decode(Comment.self, forKey: CaseKey("comment")).body)
        } else if c.contains(CaseKey("remoteLink")) {
            work = .remoteLink(try c.caseValue(Link.self, "remoteLink", format: format).value)
        } else if c.contains(CaseKey("transition")) {
            work = .transition(try c.caseValue(Transition.self, "transition", format: format).value)
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "no known delivery work"))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CaseKey.self)
        try c.encode(StoredFormat.current, forKey: .format)
        switch work {
        case .comment(let body): try c.encode(Comment(body: body), forKey: CaseKey("comment"))
        case .remoteLink(let spec): try c.encode(Link(spec), forKey: CaseKey("remoteLink"))
        case .transition(let spec): try c.encode(Transition(spec), forKey: CaseKey("transition"))
        }
    }

    struct Comment: Codable {
        var body: String
    }

    struct Link: Codable {
        var globalId: String
        var url: String
        var title: String
        var resolved: Bool
        var relationship: String
        var iconURL: String
        var iconTitle: String?

        init(_ s: RemoteLinkSpec) {
            globalId = s.globalId; url = s.url; title = s.title; resolved = s.resolved; relationship = s.relationship; iconURL = s.iconURL
            iconTitle = s.iconTitle
        }
        var value: RemoteLinkSpec {
            RemoteLinkSpec(globalId: globalId, url: url, title: title, resolved: resolved, relationship: relationship, iconURL: iconURL,
                           iconTitle: iconTitle ?? Forge.gitlab.displayName)
        }
    }

    struct Transition: Codable {
        var automatic: Bool
        var ids: [String]
        var applied: Int
        var commitID: String
        var commitURL: String
        var comment: Bool
        var iconURL: String
        var iconTitle: String?

        init(_ s: TransitionSpec) {
            automatic = s.automatic; ids = s.ids; applied = s.applied; commitID = s.commitID; commitURL = s.commitURL
            comment = s.comment; iconURL = s.iconURL; iconTitle = s.iconTitle
        }
        var value: TransitionSpec {
            TransitionSpec(automatic: automatic, ids: ids, applied: applied, commitID: commitID, commitURL: commitURL, comment: comment,
                           iconURL: iconURL, iconTitle: iconTitle ?? Forge.gitlab.displayName)
        }
    }
}

extension StoredFormat {
    static func encode(event: ForgeEvent) throws -> String { try encode(StoredForgeEvent(event)) }
    static func decodeEvent(_ text: String) throws -> ForgeEvent { try decode(StoredForgeEvent.self, from: text).event }
    static func encode(work: DeliveryWork) throws -> String { try encode(StoredWork(work)) }
    static func decodeWork(_ text: String) throws -> DeliveryWork { try decode(StoredWork.self, from: text).work }
}
