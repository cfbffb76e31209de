import Foundation
import Hummingbird
import Integration
import Store

/// `/jira/create-branch`: where Jira's "Create branch" sends a user (the OAuth credentials' Create branch URL
/// template). Sign-in first (the page comes back after it); then the projects the user maintains whose
/// integration covers the issue's Jira project, each with the suggested branch name; the form creates it through
/// the forge's API and goes to the new branch.
extension WebController {
    struct CreateBranchView: ViewModel {
        struct Row: ViewModel {
            var project: String
            var path: String
            var forge: String
            var branch: String
            var from: String
            var unavailable: String
        }
        var key: String
        var summary: String
        var jiraProject: String
        var rows: [Row]
        var hasRows: Bool
    }

    var createBranch: CreateBranchService { CreateBranchService(store: store, jira: service.jira, access: access) }

    func createBranchPage(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let query = request.uri.queryParameters
        let key = String(query.get("issueKey") ?? "")
        guard BranchName.isIssueKey(key) else {
            throw WebError(
                status: .badRequest, heading: "No Jira issue",
                message: "Open this page from Jira's Create branch: it needs issueKey=PROJ-1 (and issueSummary).")
        }
        let summary = String((query.get("issueSummary") ?? "").prefix(1000))
        let suggested = BranchName.suggested(key: key, summary: summary)
        let rows = try await createBranch.candidates(identity, key: key).map { c in
            CreateBranchView.Row(
                project: c.project.address, path: c.project.forgePath, forge: c.project.forge.displayName, branch: suggested,
                from: c.project.defaultBranch, unavailable: c.unavailable ?? "")
        }
        let view = CreateBranchView(key: key, summary: summary, jiraProject: BranchName.projectKey(key), rows: rows, hasRows: !rows.isEmpty)
        return render("create-branch", view, context, breadcrumbs: [.home])
    }

    func createBranchSubmit(_ request: Request, _ context: BridgeRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let form = try await WebForm.read(request, context: context)
        guard let reference = form.string("project"), let project = try await lookup.project(reference: reference) else {
            throw WebError.notFound("The project")
        }
        do {
            let (url, _) = try await createBranch.create(
                identity, project: project, key: form.string("issueKey") ?? "", name: form.string("branch") ?? "",
                from: form.string("from") ?? project.defaultBranch, logger: context.logger)
            return redirect(url)
        } catch let refusal as CreateBranchService.Refusal {
            throw WebError(status: HTTPResponse.Status(code: refusal.status), heading: "Branch not created", message: refusal.message)
        }
    }
}
