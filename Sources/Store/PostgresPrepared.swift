import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The store's frequent statements as prepared statements: PostgreSQL parses and plans each once per
/// connection instead of once per call. Planning was most of the server's work for the small statements of a
/// delivery (0.15 to 0.18 ms to plan the claim's and the settings' reads, which run in 0.02 to 0.03 ms).
///
/// postgres-nio prepares a `PostgresPreparedStatement`, whose name, text and parameter types are static: one
/// type per statement. The store's statements are built at run time (shared with SQLite, `?` placeholders,
/// lists of any length), so the process gives each frequent statement a numbered slot, and each slot number is
/// a type of its own (`SlotNumber`, spelled in bits). A slot, once given, keeps its text and types for the life
/// of the process, so every connection prepares the same text under the same name.
///
/// - A statement is given a slot on its second use, so a statement run once (an operator's listing, a
///   migration) takes none.
/// - The parameters' types are part of the statement (`bigint` for the store's integers, as the unprepared
///   path sends them), so a `NULL` in place of a number is another slot.
/// - Only statements that answer rows (see `returnsRows`).
/// - Statements with many parameters (multi-row inserts: their text changes with the batch's size) and
///   transaction control are left unprepared; so is everything once the slots are taken.
enum PreparedStatements {
    /// 256 slots: a statement built for a count of values (the keys and projects of an intake batch, the busy
    /// issues of a claim) takes one slot per count up to `maxParameters`, and 128 ran out in the test suite.
    static let bits = 8
    static var capacity: Int { 1 << bits }
    static let maxParameters = 32

    struct Key: Hashable {
        typealias DataType = PostgresDataType
        let sql: String
        let types: [PostgresDataType]
    }

    private struct Registry {
        var slots: [Key] = []
        var index: [Key: Int] = [:]
        var seen: Set<Key> = []
        /// Statements that are never prepared, so that each is looked at once.
        var never: Set<String> = []
    }

    private static let registry = Mutex(Registry())

    /// The slot of a statement, given on its second use; nil while it is not (or cannot be) prepared.
    static func slot(sql: String, types: [PostgresDataType]) -> Int? {
        guard types.count <= maxParameters else { return nil }
        let key = Key(sql: sql, types: types)
        return registry.withLock { r -> Int? in
            if let slot = r.index[key] { return slot }
            guard r.slots.count < capacity, !r.never.contains(sql) else { return nil }
            guard r.seen.contains(key) else {
                guard isPreparable(sql) else {
                    if r.never.count >= 4_096 { r.never.removeAll() }
                    r.never.insert(sql)
                    return nil
                }
                if r.seen.count >= 4_096 { r.seen.removeAll() }
                r.seen.insert(key)
                return nil
            }
            r.seen.remove(key)
            r.slots.append(key)
            r.index[key] = r.slots.count - 1
            return r.slots.count - 1
        }
    }

    static func key(_ slot: Int) -> Key { registry.withLock { $0.slots[slot] } }

    /// Whether a statement answers with rows. Only those are prepared: postgres-nio 1.33's prepared statement
    /// that is run for its command tag (the count of rows an `UPDATE` changed) stops the process (its row
    /// stream is not yet consumed when the tag is read), so an `INSERT`, `UPDATE` or `DELETE` without
    /// `RETURNING` runs unprepared.
    static func returnsRows(_ sql: String) -> Bool {
        let word = firstWord(sql)
        if word == "SELECT" { return true }
        let returning = sql.range(of: "RETURNING", options: .caseInsensitive) != nil
        if ["INSERT", "UPDATE", "DELETE"].contains(word) { return returning }
        // A WITH that writes answers rows only with RETURNING; one that only reads answers its SELECT's.
        guard word.hasPrefix("WITH") else { return false }
        let writes = ["INSERT ", "UPDATE ", "DELETE "].contains { sql.range(of: $0, options: .caseInsensitive) != nil }
        return returning || !writes
    }

    private static func firstWord(_ sql: String) -> String {
        let head = sql.utf8.lazy.drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }).prefix(6)
        return String(decoding: head, as: UTF8.self).uppercased()
    }

    /// Statements that PostgreSQL plans and that answer rows: reads, and writes with `RETURNING`; not
    /// `BEGIN`, `COMMIT` or `SET`.
    static func isPreparable(_ sql: String) -> Bool {
        let word = firstWord(sql)
        guard ["SELECT", "INSERT", "UPDATE", "DELETE"].contains(word) || word.hasPrefix("WITH") else { return false }
        return returnsRows(sql)
    }

    /// The slot numbers as types, built once.
    static let numbers: [any SlotNumber.Type] = (0..<capacity).map { n in
        var type: any SlotNumber.Type = NoBits.self
        for bit in (0..<bits).reversed() {
            type = wrap(type, one: (n >> bit) & 1 == 1)
        }
        return type
    }

    private static func wrap<Higher: SlotNumber>(_: Higher.Type, one: Bool) -> any SlotNumber.Type {
        one ? OneBit<Higher>.self : ZeroBit<Higher>.self
    }

    /// Runs the statement in `slot`, preparing it on this connection first if it is not yet.
    static func rows(_ slot: Int, _ bindings: PostgresBindings, on connection: PostgresConnection, logger: Logger) async throws -> [PostgresRow] {
        try await rows(numbers[slot], bindings, connection, logger)
    }

    private static func rows<N: SlotNumber>(
        _: N.Type, _ bindings: PostgresBindings, _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in try await connection.execute(Rows<N>(bindings: bindings), logger: logger) {
            rows.append(row)
        }
        return rows
    }

    struct Rows<N: SlotNumber>: PostgresPreparedStatement {
        typealias Row = PostgresRow
        static var name: String { "jb\(N.value)" }
        static var sql: String { PreparedStatements.key(N.value).sql }
        static var bindingDataTypes: [PostgresDataType] { PreparedStatements.key(N.value).types }
        let bindings: PostgresBindings
        func makeBindings() -> PostgresBindings { bindings }
        func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
    }
}

/// A number as a type: `OneBit<ZeroBit<NoBits>>` is 0b01, its outermost bit the lowest.
protocol SlotNumber: Sendable { static var value: Int { get } }
enum NoBits: SlotNumber { static var value: Int { 0 } }
enum ZeroBit<Higher: SlotNumber>: SlotNumber { static var value: Int { Higher.value * 2 } }
enum OneBit<Higher: SlotNumber>: SlotNumber { static var value: Int { Higher.value * 2 + 1 } }
