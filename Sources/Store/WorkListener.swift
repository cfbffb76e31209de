import Logging
import PostgresNIO
import ServiceLifecycle

/// Hears the new work other processes commit on a PostgreSQL database (`NOTIFY` on `SQLStore.workChannel`,
/// the kind as the payload) and rings this process's bells, so that its idle loops wake at once instead of
/// at their next poll. A service: it holds one connection of its own (outside the pool) until the graceful
/// shutdown, and connects again `retryDelay` after the server goes away; polling covers the gap.
public struct WorkListener: Service, CustomStringConvertible {
    let settings: PostgresSettings
    let bells: WorkBells
    let logger: Logger
    let retryDelay: Duration

    public init(settings: PostgresSettings, bells: WorkBells, logger: Logger, retryDelay: Duration = .seconds(1)) {
        self.settings = settings
        self.bells = bells
        self.logger = logger
        self.retryDelay = retryDelay
    }

    /// How the service group logs it: where it listens, never the password.
    public var description: String { "WorkListener(\(settings.description))" }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await listenOnce()
                try? await Task.sleep(for: retryDelay)
            }
        }
    }

    /// One connection's life: listens until the connection ends or the task is cancelled.
    func listenOnce() async {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try PostgresMigrator.configuration(settings), id: 0, logger: logger)
        } catch {
            if !Task.isCancelled {
                logger.notice(
                    "cannot listen for PostgreSQL notifications; polling meanwhile", metadata: ["error": "\(PostgresMigrator.reason(error))"])
            }
            return
        }
        do {
            try await connection.listen(on: SQLStore.workChannel) { notifications in
                for try await notification in notifications {
                    if let kind = WorkKind(rawValue: notification.payload) { bells[kind].ring() }
                }
            }
        } catch {
            if !Task.isCancelled {
                logger.notice(
                    "the PostgreSQL notification connection ended; polling meanwhile", metadata: ["error": "\(PostgresMigrator.reason(error))"])
            }
        }
        try? await connection.close()
    }
}
