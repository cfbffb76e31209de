import Foundation
import Integration
import JiraClient
import Logging
import ServiceLifecycle
import Store
import Synchronization
import Tracing

/// Turns stored events into deliveries with the project's current settings.
struct EventPlanningService: Service {
    let store: any PlannerStore & IntegrationStore
    let bells: WorkBells
    let configuration: PipelineConfiguration
    let health: WorkerHealth
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let planned = try await planBatch()
                health.succeeded(.planner, logger: logger)
                if planned == 0 {
                    await cancelWhenGracefulShutdown { await bells[.events].wait(upTo: configuration.pollInterval, sleeper: configuration.sleeper) }
                }
            } catch {
                await idle(health.failed(.planner, error, logger: logger), configuration.sleeper)
            }
        }
    }

    /// Plans one batch of events; returns how many events it handled.
    func planBatch() async throws -> Int {
        let events = try await store.claimEvents(limit: 64, leaseMillis: configuration.eventLeaseMillis, now: store.clock.now())
        var integrations: [Int64: IntegrationRecord?] = [:]
        var batch: [PlannedEvent] = []
        for stored in events {
            // The event's planning span continues the trace of its intake; its deliveries keep this span's traceparent.
            let span = InstrumentationSystem.tracer.startSpan("plan event", context: TraceContext.context(stored.traceContext))
            span.attributes["jira_bridge.event_id"] = stored.id
            span.attributes["jira_bridge.event_kind"] = stored.event.kind
            let traceparent = TraceContext.traceparent(of: span.context)
            defer { span.end() }
            var deliveries: [NewDelivery] = []
            var notes: [String] = []
            if integrations[stored.projectID] == nil {
                integrations[stored.projectID] = .some(try await store.integration(at: .project(stored.projectID)))
            }
            // Whether the integration is active is the planner's to decide (`EventPlanner`): it plans nothing then,
            // and the event's note says why (the event log).
            let record = integrations[stored.projectID] ?? nil
            if record == nil {
                notes = [EventPlanner.Absent.noIntegration]
            } else if record?.settings.clientURL == nil {
                notes = [record?.settings.active == true ? EventPlanner.Absent.noURL : "nothing planned: the Jira integration is inactive"]
            }
            if let record, let site = record.settings.clientURL {
                do {
                    let extractor = try ReferenceExtractor(prefix: record.settings.issuePrefix, regex: record.settings.issueRegex)
                    let planner = EventPlanner(settings: record.settings, extractor: extractor)
                    let planned = planner.planWithNotes(stored.event, eventID: stored.id)
                    notes = planned.notes
                    deliveries = planned.deliveries.map {
                        NewDelivery(eventID: stored.id, projectID: stored.projectID, site: JiraSite.key(site), planned: $0, traceContext: traceparent)
                    }
                    span.attributes["jira_bridge.deliveries"] = deliveries.count
                    if deliveries.isEmpty, let reason = planner.whyNothing(stored.event, notes: planned.notes) {
                        notes.insert(reason, at: 0)
                    }
                    if !planned.notes.isEmpty {
                        logger.notice(
                            "event reached a limit",
                            metadata: [
                                "event_id": "\(stored.id)", "project_id": "\(stored.projectID)",
                                "notes": "\(notes.joined(separator: "; "))",
                            ])
                    }
                } catch {
                    notes = [EventPlanner.Absent.badPattern]
                    logger.error("the saved key pattern does not compile", metadata: ["project_id": "\(stored.projectID)", "error": "\(error)"])
                }
            }
            batch.append(PlannedEvent(eventID: stored.id, deliveries: deliveries, notes: notes))
        }
        if !batch.isEmpty {
            let inserted = try await store.finishPlanning(batch: batch, now: store.clock.now())
            logger.debug("events planned", metadata: ["events": "\(batch.count)", "new_deliveries": "\(inserted)"])
        }
        return events.count
    }
}
