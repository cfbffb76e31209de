import Foundation
import Integration
import JiraClient
import Logging
import Store

/// The settings use cases: save with GitLab's rules, Test settings, issue types.
struct IntegrationService: Sendable {
    let store: any BridgeStore
    let jira: JiraHTTPClient
    let validator: SettingsValidator
    /// Atlassian's gateway (`--atlassian-api-url`), for the Development panel's token.
    let gateway: JiraURL

    /// `PUT .../integrations/jira`: applies the parameters, validates, detects the deployment, saves.
    func update(at level: IntegrationLevel, parameters: [String: ParameterValue], logger: Logger) async throws -> IntegrationRecord {
        let update: SettingsUpdate
        do { update = try SettingsUpdate(parameters: parameters) } catch { throw ServiceFailure.badParameter(error.message) }
        let existing = try await store.integration(at: level)

        if Inheritance.inheritsOnUpdate(at: level, flag: update.useInheritedSettings, currentlyInherits: existing?.inheritFromID != nil) {
            guard let record = try await store.inheritIntegration(at: level) else {
                throw ServiceFailure.notFound(.defaultIntegration)
            }
            await resume(record, at: level, logger: logger)
            return record
        }

        // Switching to custom starts from the values in effect (the default's, secrets included).
        let current = existing?.settings ?? JiraSettings()
        var settings = update.applied(to: current)
        var errors = validator.validate(settings)
        if let problem = ExtraFields.problem(settings.vulnerabilitiesExtraFields) { errors.add("vulnerabilities_extra_fields", problem) }
        guard errors.isEmpty else { throw ServiceFailure.invalid(errors) }
        if existing == nil || update.changesConnection(from: current, to: settings) || settings.deploymentType == .unknown {
            settings.deploymentType = await detectDeployment(settings, logger: logger)
        }
        let record = try await store.saveIntegration(at: level, settings: settings)
        await resume(record, at: level, logger: logger)
        return record
    }

    /// Saved settings may be the new credentials paused deliveries wait for: the rejections of this integration's
    /// own credentials end, and a project's paused deliveries run again whatever they waited on (it may use other
    /// credentials now). One that Jira rejects again pauses again, with its site's first delivery.
    func resume(_ record: IntegrationRecord, at level: IntegrationLevel, logger: Logger) async {
        var project: Int64? = nil
        if case .project(let id) = level { project = id }
        do {
            let resumed = try await store.resumePaused(integrationID: record.id, projectID: project, now: store.clock.now())
            if resumed > 0 { logger.notice("paused deliveries resume with the saved settings", metadata: ["count": "\(resumed)"]) }
        } catch {
            // The save stands; the deliveries stay paused until the next save, Test settings or retry by hand.
            logger.error("could not resume paused deliveries", metadata: ["error": "\(error)"])
        }
    }

    /// GitLab's rule: serverInfo's `deploymentType`, else the `*.atlassian.net` URL rule.
    func detectDeployment(_ settings: JiraSettings, logger: Logger) async -> JiraDeploymentType {
        guard settings.clientURL != nil else { return .unknown }
        do {
            let connection = try JiraConnection(settings: settings)
            let info = try await jira.serverInfo(connection, logger: logger)
            return DeploymentDetection.detect(serverInfoDeploymentType: info.deploymentType, serverInfoAnswered: true, clientURL: settings.clientURL)
        } catch {
            logger.warning("Jira API returned no ServerInfo, setting deployment_type from URL", metadata: ["error": "\(error)"])
            return DeploymentDetection.detect(serverInfoDeploymentType: nil, serverInfoAnswered: false, clientURL: settings.clientURL)
        }
    }

    /// `POST .../integrations/jira/test`: serverInfo then myself, on the saved settings with any unsaved
    /// values from the body applied. Always answers 200 with GitLab's success or failure document.
    /// The Development panel's part of Test settings: a token from Atlassian's gateway and the site's cloud id,
    /// or why not (never the secret).
    func developmentPanel(_ settings: JiraSettings, deployment: JiraDeploymentType, logger: Logger) async -> JSONValue {
        func failure(_ message: String) -> JSONValue { .object(["success": .bool(false), "cloud_id": .null, "message": .string(message)]) }
        if deployment == .server {
            return failure("Jira Server and Data Center have no development information API: only Jira Cloud shows it.")
        }
        guard let clientID = settings.oauthClientID, let secret = settings.oauthClientSecret else {
            return failure("The OAuth credentials are missing.")
        }
        do {
            _ = try await jira.oauthToken(gateway: gateway, clientID: clientID, clientSecret: secret, logger: logger)
        } catch {
            if case .http(let status) = error.kind, [400, 401, 403].contains(status) {
                return failure("Atlassian refused the OAuth credentials (\(status)): check the client id and secret.")
            }
            return failure("Atlassian's token endpoint could not be reached: \(error.description)")
        }
        let cloudID: String
        if let id = CloudID.from(apiURL: settings.apiURL) {
            cloudID = id
        } else {
            guard let text = settings.url, let site = JiraURL(text) else { return failure("The Jira URL is missing.") }
            do { cloudID = try await jira.cloudID(site: site, logger: logger) } catch {
                return failure("The site's cloud id could not be read from _edge/tenant_info: \(error.description)")
            }
        }
        return .object([
            "success": .bool(true), "cloud_id": .string(cloudID),
            "message": .string("A token was issued for these OAuth credentials; the site's cloud id is \(cloudID)."),
        ])
    }

    func test(at level: IntegrationLevel, parameters: [String: ParameterValue], logger: Logger) async throws -> JSONValue {
        let existing = try await store.integration(at: level)
        var settings = existing?.settings ?? JiraSettings()
        if !parameters.isEmpty {
            let update: SettingsUpdate
            do { update = try SettingsUpdate(parameters: parameters) } catch {
                return Self.validationFailed(error.message)
            }
            settings = update.applied(to: settings)
        }
        let errors = validator.validate(settings)
        if !errors.isEmpty { return Self.validationFailed(errors.fullMessages) }
        do {
            let connection = try JiraConnection(settings: settings)
            let info = try await jira.serverInfo(connection, logger: logger)
            let myself = try await jira.myself(connection, logger: logger)
            let deployment = DeploymentDetection.detect(
                serverInfoDeploymentType: info.deploymentType, serverInfoAnswered: true, clientURL: settings.clientURL)
            // Jira accepts the saved credentials: a rejection of them is over (an unsaved value tried resumes nothing).
            if let existing, store.credentialsKey(existing) == store.credentialsKey(existing.with(settings: settings)) {
                let owner = store.credentialsKey(existing).integrationID
                if let resumed = try? await store.resumePaused(integrationID: owner, projectID: nil, now: store.clock.now()), resumed > 0 {
                    logger.notice("Test settings succeeded: paused deliveries resume", metadata: ["count": "\(resumed)"])
                }
            }
            var doc: [String: JSONValue] = [
                "success": .bool(true),
                "deployment_type": .string(deployment.rawValue),
                "server_info": info.raw,
                "myself": myself,
            ]
            if settings.vulnerabilitiesEnabled {
                let types = try await issueTypes(settings, connection: connection, logger: logger)
                doc["issuetypes"] = .array(types.map(Self.issueTypeJSON))
            }
            if settings.sendsToJiraCloudAPIs { doc["development_panel"] = await developmentPanel(settings, deployment: deployment, logger: logger) }
            return .object(doc)
        } catch let error as JiraError {
            logger.info("Test settings failed", metadata: ["error": "\(error)"])
            return .object([
                "error": .bool(true),
                "message": .string("Connection failed. Check your integration settings."),
                "service_response": .string(error.serviceResponse),
                "test_failed": .bool(true),
            ])
        }
    }

    /// The issue types of `project_key`'s project without subtasks; all issue types if the project is unknown.
    func issueTypes(_ settings: JiraSettings, connection: JiraConnection, logger: Logger) async throws -> [JiraIssueType] {
        var types: [JiraIssueType]? = nil
        if let key = settings.projectKey, !key.isEmpty {
            do {
                types = try await jira.project(connection, key: key, logger: logger).issueTypes
            } catch {
                if error.status != 404 { throw error }
            }
        }
        if types == nil { types = try await jira.issueTypes(connection, logger: logger) }
        return (types ?? []).filter { !$0.subtask }
    }

    static func issueTypeJSON(_ t: JiraIssueType) -> JSONValue {
        .object(["id": .string(t.id), "name": .string(t.name), "description": .string(t.description)])
    }

    static func validationFailed(_ text: String) -> JSONValue {
        .object([
            "error": .bool(true),
            "message": .string("Validations failed."),
            "service_response": .string(text),
            "test_failed": .bool(false),
        ])
    }
}

extension ExtraFields {
    /// The setting's text read as JSON (the core decides what it may hold): nil when empty or not an object.
    static func parse(_ text: String) -> [String: JSONValue]? {
        guard !text.isEmpty, text.utf8.count <= 4 * maxCharacters,
            let doc = try? JSONValue.parse(text)
        else { return nil }
        return doc.object
    }

    static func problem(_ text: String) -> String? { problem(text, parsed: parse(text)) }
}
