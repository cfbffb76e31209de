import HTTPTypes
import Hummingbird
import Integration
import JiraClient
import Store

/// GitLab's offset pagination headers.
enum Pagination {
    static func headers(_ request: PageRequest, total: Int) -> HTTPFields {
        var headers = HTTPFields()
        let page = request.page
        headers[HTTPField.Name("X-Total")!] = String(total)
        headers[HTTPField.Name("X-Total-Pages")!] = String(request.pageCount(total: total))
        headers[HTTPField.Name("X-Page")!] = String(page)
        headers[HTTPField.Name("X-Per-Page")!] = String(request.perPage)
        headers[HTTPField.Name("X-Next-Page")!] = request.hasNext(total: total) ? String(page + 1) : ""
        headers[HTTPField.Name("X-Prev-Page")!] = page > 1 ? String(page - 1) : ""
        return headers
    }
}
