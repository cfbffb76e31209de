import Foundation
import Hummingbird
import Integration
import Store

/// A validated request for a new token.
struct TokenRequest: Sendable {
    var name: String
    var role: TokenRole
    var scope: TokenScope
    var expiresAt: Millis?

    static func parse(_ params: [String: ParameterValue], store: any ProjectStore) async throws -> TokenRequest {
        guard let name = params.string("name")?.trimmingWhitespace(), !name.isEmpty, name.count <= 255 else {
            throw APIError.badParameter("name is missing")
        }
        guard let roleText = params.string("role"), let role = TokenRole(rawValue: roleText) else {
            throw APIError.badParameter("role does not have a valid value (admin, maintainer, reporter)")
        }
        let scope: TokenScope
        switch params.string("scope") ?? "instance" {
        case "instance": scope = .instance
        case "group":
            guard let ref = params.string("group_id") else { throw APIError.badParameter("group_id is missing") }
            let group: Group?
            if let id = Int64(ref) { group = try await store.group(id: id) } else { group = try await store.group(path: ref) }
            guard let group else { throw APIError.groupNotFound }
            scope = .group(group.id)
        case "project":
            guard let ref = params.string("project_id") else { throw APIError.badParameter("project_id is missing") }
            let project: Project?
            project = try await Lookup(store: store).project(reference: ref)
            guard let project else { throw APIError.projectNotFound }
            scope = .project(project.id)
        default:
            throw APIError.badParameter("scope does not have a valid value (instance, group, project)")
        }
        if role == .admin, scope != .instance {
            throw APIError.badParameter("role admin requires scope instance")
        }
        var expiresAt: Millis? = nil
        if let text = params.string("expires_at"), !text.isEmpty {
            guard let date = TokenRequest.parseDate(text) else { throw APIError.badParameter("expires_at is invalid") }
            let millis = Millis(date.timeIntervalSince1970 * 1000)
            guard millis > store.clock.now() else { throw APIError.badParameter("expires_at must be in the future") }
            expiresAt = millis
        }
        return TokenRequest(name: name, role: role, scope: scope, expiresAt: expiresAt)
    }

    /// `2026-12-31` (end of that day, UTC) or a full ISO 8601 timestamp.
    static func parseDate(_ text: String) -> Date? {
        // The calendar date must exist: Foundation rolls 2027-02-30 over to March 2.
        let parts = text.prefix(10).split(separator: "-").compactMap { Int($0) }
        guard text.utf8.count >= 10, parts.count == 3, isCalendarDate(year: parts[0], month: parts[1], day: parts[2]) else { return nil }
        if let d = try? Date(text, strategy: .iso8601) { return d }
        if let d = try? Date(text + "T23:59:59Z", strategy: .iso8601) { return d }
        return nil
    }

    /// Whether the day exists in the proleptic Gregorian calendar.
    static func isCalendarDate(year: Int, month: Int, day: Int) -> Bool {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }
}
