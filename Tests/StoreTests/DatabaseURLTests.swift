import Store
import Testing

/// `--database-url`, parsed once with one clear message per mistake, never showing the password.
@Suite("Database URLs")
struct DatabaseURLTests {
    @Test("SQLite paths, with or without //")
    func sqlite() throws {
        #expect(try DatabaseURL.parse("sqlite:data/jb.sqlite") == .sqlite(path: "data/jb.sqlite"))
        #expect(try DatabaseURL.parse("sqlite:///var/lib/jb.sqlite") == .sqlite(path: "/var/lib/jb.sqlite"))
        #expect(throws: StoreError.self) { try DatabaseURL.parse("sqlite:") }
    }

    @Test("a full PostgreSQL URL: user, password, host, port, database, sslmode, pool size")
    func full() throws {
        guard case .postgres(let s) = try DatabaseURL.parse("postgresql://jb:s%40cret@db.example.com:6432/bridge?sslmode=require&pool_size=20") else {
            Issue.record("not postgres"); return
        }
        #expect(s.user == "jb" && s.password == "s@cret" && s.host == "db.example.com" && s.port == 6432 && s.database == "bridge")
        #expect(s.sslMode == .require && s.poolSize == 20)
        #expect(!s.description.contains("cret"))
    }

    @Test("libpq's defaults: port 5432, the database named like the user, sslmode prefer, 10 connections")
    func defaults() throws {
        guard case .postgres(let s) = try DatabaseURL.parse("postgres://jb@localhost") else { Issue.record("not postgres"); return }
        #expect(s.port == 5432 && s.database == "jb" && s.sslMode == .prefer && s.poolSize == 10 && s.password == nil)
        guard case .postgres(let v6) = try DatabaseURL.parse("postgres://jb:pw@[::1]:5433/x") else { Issue.record("not postgres"); return }
        #expect(v6.host == "::1" && v6.port == 5433)
    }

    @Test(
        "each mistake has its own message, and no message shows the password",
        arguments: [
            ("postgres://jb:hunter2@db:99999/x", "port must be a number from 1 to 65535"),
            ("postgres://jb:hunter2@db:abc/x", "port must be a number"),
            ("postgres://:hunter2@db/x", "the user is missing"),
            ("postgres://jb:hunter2@/x", "the host is missing"),
            ("postgres://jb:hunter2@db/x?sslmode=verify-full", "sslmode must be disable, prefer or require"),
            ("postgres://jb:hunter2@db/x?pool_size=0", "pool_size must be a number from 1 to 100"),
            ("postgres://jb:hunter2@db/x?application_name=y", "unknown parameter application_name"),
            ("postgres://jb:hunter2@[::1/x", "closing ]"),
            ("mysql://jb:hunter2@db/x", "expected sqlite:PATH or postgres://"),
        ])
    func mistakes(_ url: String, _ message: String) {
        #expect { try DatabaseURL.parse(url) } throws: { error in
            let text = "\(error)"
            return text.contains(message) && !text.contains("hunter2")
        }
    }

    @Test("redaction hides the password only")
    func redaction() {
        #expect(PostgresSettings.redacted("postgres://jb:hunter2@db/x") == "postgres://jb:***@db/x")
        #expect(PostgresSettings.redacted("postgres://jb@db/x") == "postgres://jb@db/x")
        #expect(PostgresSettings.redacted("sqlite:a@b:c") == "sqlite:a@b:c")
    }
}
