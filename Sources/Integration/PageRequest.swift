/// A page of an offset-paginated list, read from untrusted `page` and `per_page` values as GitLab's
/// REST API reads them: `page` counts from 1, `per_page` from 1 to 100. Out-of-range values are clamped
/// (a page past the end is simply empty); text that is not a whole number is refused.
public struct PageRequest: Sendable, Equatable {
    /// The largest page number kept; higher numbers read as this one (an empty page on any real list).
    public static let maxPage = 1_000_000_000
    public static let maxPerPage = 100

    public let page: Int
    public let perPage: Int

    /// Clamps `page` to 1...maxPage and `perPage` to 1...maxPerPage.
    public init(page: Int, perPage: Int) {
        self.page = min(max(page, 1), Self.maxPage)
        self.perPage = min(max(perPage, 1), Self.maxPerPage)
    }

    /// Reads query values. A missing or empty value takes the default; a value that is not an integer
    /// (letters, a fraction, more digits than any integer) throws naming the parameter.
    public static func parse(page: String?, perPage: String?, defaultPerPage: Int = 20) throws(ParameterError) -> PageRequest {
        let p = try wholeNumber(page, name: "page") ?? 1
        let n = try wholeNumber(perPage, name: "per_page") ?? defaultPerPage
        // GitLab serves its default page size for per_page=0 or below.
        return PageRequest(page: p, perPage: n >= 1 ? n : defaultPerPage)
    }

    /// Rows to skip: at most maxPage * maxPerPage, so it never overflows.
    public var offset: Int { (page - 1) * perPage }

    /// Whether a later page has rows, given the list's total.
    public func hasNext(total: Int) -> Bool { total > offset + perPage }

    /// The number of pages of a list of `total` rows (at least 1).
    public func pageCount(total: Int) -> Int { max(1, total / perPage + (total % perPage == 0 ? 0 : 1)) }

    /// An integer of any size from text: values beyond Int's range saturate, so the caller's clamp applies.
    public static func wholeNumber(_ text: String?, name: String) throws(ParameterError) -> Int? {
        guard let raw = text?.trimmingWhitespace(), !raw.isEmpty else { return nil }
        var digits = Substring(raw)
        var negative = false
        if digits.first == "-" || digits.first == "+" { negative = digits.first == "-"; digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { throw ParameterError(name: name, problem: "is invalid") }
        let value = Int(digits) ?? Int.max
        return negative ? -value : value
    }
}

/// A request parameter that cannot be used, named so the answer can say which.
public struct ParameterError: Error, Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let problem: String
    public init(name: String, problem: String) {
        self.name = name
        self.problem = problem
    }
    /// GitLab's wording: "page is invalid".
    public var description: String { "\(name) \(problem)" }
}
