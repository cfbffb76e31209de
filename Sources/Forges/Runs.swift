import Foundation
import Integration

/// Pipelines and deployments, decoded into forge-neutral events with Jira's states: GitLab's `Pipeline Hook`
/// and `Deployment Hook`, GitHub's `workflow_run` and `deployment_status`, Gitea's and Forgejo's `workflow_run`
/// (Gitea 1.24 and later: the fields of its `ActionWorkflowRun`, `forge-apis/gitea-swagger.subset.json`).
enum Runs {
    /// Texts read for keys are cut here: a key past 16 KB of a commit message is not looked for.
    static let textLimit = 16_384

    static func text(_ value: JSONValue?) -> String { Texts.cut(Payload.optionalString(value) ?? "", to: textLimit) }

    // MARK: GitLab

    /// GitLab's pipeline statuses as Jira's build states (`scheduled`, `created`, `waiting_for_resource`,
    /// `preparing`, `pending`, `manual` wait; `skipped` and `canceled` are cancelled).
    static func gitlabBuildState(_ status: String) -> PipelineEvent.State {
        switch status {
        case "created", "waiting_for_resource", "preparing", "pending", "scheduled", "manual": return .pending
        case "running": return .inProgress
        case "success": return .successful
        case "failed": return .failed
        case "canceled", "canceling", "skipped": return .cancelled
        default: return .unknown
        }
    }

    static func gitlabPipeline(_ doc: JSONObject, project: ForgeProject) throws(WebhookPayloadError) -> PipelineEvent {
        guard let attrs = doc["object_attributes"]?.object else { throw WebhookPayloadError("object_attributes is missing") }
        let id = try Payload.int64(attrs["id"], "object_attributes.id")
        let number = (try? Payload.int64(attrs["iid"], "object_attributes.iid")) ?? id
        let status = try Payload.string(attrs["status"], "object_attributes.status")
        let times = [attrs["finished_at"], attrs["created_at"]].compactMap { Payload.timestamp($0) }
        let url = Payload.webURL(attrs["url"]) ?? "\(project.webURL)/-/pipelines/\(id)"
        return PipelineEvent(
            project: project, workflowID: "", workflowName: text(attrs["name"]).isEmpty ? "Pipeline" : text(attrs["name"]),
            runNumber: number, state: gitlabBuildState(status), ref: text(attrs["ref"]), sha: text(attrs["sha"]),
            commitMessage: text(doc["commit"]?["message"]), titles: [text(doc["merge_request"]?["title"])].filter { !$0.isEmpty },
            url: url, updatedAt: latest(times))
    }

    /// GitLab's deployment statuses as Jira's deployment states.
    static func gitlabDeploymentState(_ status: String) -> DeploymentEvent.State {
        switch status {
        case "created", "blocked": return .pending
        case "running": return .inProgress
        case "success": return .successful
        case "failed": return .failed
        case "canceled", "skipped": return .cancelled
        default: return .unknown
        }
    }

    static func gitlabDeployment(_ doc: JSONObject, project: ForgeProject) throws(WebhookPayloadError) -> DeploymentEvent {
        let id = try Payload.int64(doc["deployment_id"], "deployment_id")
        let status = try Payload.string(doc["status"], "status")
        // The payload names the commit by its URL (and a short SHA).
        let commitURL = Payload.webURL(doc["commit_url"])
        let sha = commitURL.map { String($0.split(separator: "/").last ?? "") }.flatMap { EventLimits.isCommitID($0) ? $0 : nil } ?? ""
        let url = Payload.webURL(doc["deployable_url"]) ?? Payload.webURL(doc["environment_external_url"]) ?? "\(project.webURL)/-/environments"
        return DeploymentEvent(
            project: project, deploymentID: id, environment: text(doc["environment"]), tier: Payload.optionalString(doc["environment_tier"]),
            state: gitlabDeploymentState(status), ref: text(doc["ref"]), sha: sha, commitMessage: text(doc["commit_title"]),
            description: "", url: url, updatedAt: Payload.timestamp(doc["status_changed_at"]))
    }

    // MARK: GitHub and Gitea

    /// A workflow run's `status` and `conclusion` as Jira's build state (GitHub's and Gitea's names).
    static func workflowState(status: String, conclusion: String?) -> PipelineEvent.State {
        switch status {
        case "queued", "requested", "waiting", "pending", "blocked": return .pending
        case "in_progress", "running": return .inProgress
        case "completed":
            switch conclusion ?? "" {
            case "success": return .successful
            case "failure", "timed_out", "startup_failure": return .failed
            case "cancelled", "skipped": return .cancelled
            case "action_required": return .pending
            default: return .unknown
            }
        default: return .unknown
        }
    }

    static func workflowRun(_ doc: JSONObject, project: ForgeProject) throws(WebhookPayloadError) -> PipelineEvent {
        guard let run = doc["workflow_run"]?.object else { throw WebhookPayloadError("workflow_run is missing") }
        let id = try Payload.int64(run["id"], "workflow_run.id")
        let number = (try? Payload.int64(run["run_number"], "workflow_run.run_number")) ?? id
        let status = try Payload.string(run["status"], "workflow_run.status")
        let workflow = doc["workflow"]?.object
        // GitHub: `workflow_id` (a number); Gitea: the workflow's id (its file name) or the run's `path`.
        let workflowID =
            run["workflow_id"]?.number.map { String(Int64(exactly: $0) ?? 0) } ?? Payload.optionalString(workflow?["id"])
            ?? Payload.optionalString(run["path"]) ?? ""
        let name = text(run["name"]).isEmpty ? text(workflow?["name"]) : text(run["name"])
        let times = [run["updated_at"], run["completed_at"], run["started_at"], run["run_started_at"], run["created_at"]]
            .compactMap { Payload.timestamp($0) }
        return PipelineEvent(
            project: project, workflowID: Texts.cut(workflowID, to: 128), workflowName: name.isEmpty ? "Workflow" : name, runNumber: number,
            state: workflowState(status: status, conclusion: Payload.optionalString(run["conclusion"])), ref: text(run["head_branch"]),
            sha: text(run["head_sha"]), commitMessage: text(run["head_commit"]?["message"]),
            titles: [text(run["display_title"])].filter { !$0.isEmpty },
            url: Payload.webURL(run["html_url"]) ?? "\(project.webURL)/actions/runs/\(id)", updatedAt: latest(times))
    }

    /// GitHub's deployment status states as Jira's; nil for `inactive` (an older deployment that a newer one
    /// replaced: it stays as it was).
    static func deploymentStatusState(_ state: String) -> DeploymentEvent.State? {
        switch state {
        case "pending", "queued", "waiting": return .pending
        case "in_progress": return .inProgress
        case "success": return .successful
        case "failure", "error": return .failed
        case "inactive": return nil
        default: return .unknown
        }
    }

    static func deploymentStatus(_ doc: JSONObject, project: ForgeProject) throws(WebhookPayloadError) -> DeploymentEvent? {
        guard let status = doc["deployment_status"]?.object else { throw WebhookPayloadError("deployment_status is missing") }
        guard let deployment = doc["deployment"]?.object else { throw WebhookPayloadError("deployment is missing") }
        let id = try Payload.int64(deployment["id"], "deployment.id")
        guard let state = deploymentStatusState(try Payload.string(status["state"], "deployment_status.state")) else { return nil }
        let environment = text(status["environment"]).isEmpty ? text(deployment["environment"]) : text(status["environment"])
        let description = text(status["description"]).isEmpty ? text(deployment["description"]) : text(status["description"])
        let url =
            Payload.webURL(status["log_url"]) ?? Payload.webURL(status["target_url"]) ?? Payload.webURL(status["environment_url"])
            ?? "\(project.webURL)/deployments"
        // A deployment made by a workflow carries its run, whose head commit names keys.
        let run = doc["workflow_run"]?.object
        let message = [text(run?["head_commit"]?["message"]), text(run?["display_title"])].filter { !$0.isEmpty }.joined(separator: "\n")
        return DeploymentEvent(
            project: project, deploymentID: id, environment: environment,
            tier: deployment["production_environment"]?.bool == true ? "production" : nil, state: state, ref: text(deployment["ref"]),
            sha: text(deployment["sha"]), commitMessage: message, description: description, url: url,
            updatedAt: Payload.timestamp(status["updated_at"]) ?? Payload.timestamp(status["created_at"]))
    }

    /// The latest of the forge's times (those that read as times), as written.
    static func latest(_ times: [String]) -> String? {
        times.max { (JiraTimestamp($0)?.millis ?? 0) < (JiraTimestamp($1)?.millis ?? 0) }
    }
}
