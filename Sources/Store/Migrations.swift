/// The schema, as ordered migrations of portable SQL (SQLite and PostgreSQL both accept it).
enum Migrations {
    static let all: [(name: String, sql: [String])] = [
        ("0001_foundation", [
            """
            CREATE TABLE groups (
                id INTEGER PRIMARY KEY,
                full_path TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                parent_id INTEGER REFERENCES groups(id),
                webhook_secret_enc BLOB,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE projects (
                id BIGINT PRIMARY KEY,
                path_with_namespace TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                web_url TEXT NOT NULL,
                default_branch TEXT NOT NULL,
                group_id INTEGER REFERENCES groups(id),
                webhook_secret_enc BLOB,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE api_tokens (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                secret_hash TEXT NOT NULL UNIQUE,
                role TEXT NOT NULL,
                scope TEXT NOT NULL,
                scope_id BIGINT,
                expires_at BIGINT,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE integrations (
                id INTEGER PRIMARY KEY,
                owner_key TEXT NOT NULL UNIQUE,
                level TEXT NOT NULL,
                group_id INTEGER,
                project_id BIGINT,
                inherit_from_id INTEGER,
                active BOOLEAN NOT NULL,
                properties TEXT NOT NULL,
                password_enc BLOB,
                deployment_type TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX integrations_inherit_from ON integrations(inherit_from_id)",
        ]),
        ("0002_pipeline", [
            """
            CREATE TABLE events (
                id TEXT PRIMARY KEY,
                forge TEXT NOT NULL,
                delivery_key TEXT UNIQUE,
                project_id BIGINT NOT NULL,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL,
                status TEXT NOT NULL,
                lease_until BIGINT,
                error TEXT,
                received_at BIGINT NOT NULL,
                planned_at BIGINT
            )
            """,
            "CREATE INDEX events_status ON events(status, received_at)",
            """
            CREATE TABLE deliveries (
                id INTEGER PRIMARY KEY,
                event_id TEXT NOT NULL,
                project_id BIGINT NOT NULL,
                site TEXT NOT NULL,
                issue_key TEXT NOT NULL,
                action TEXT NOT NULL,
                dedupe_key TEXT NOT NULL,
                content_key TEXT,
                work TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                next_run_at BIGINT NOT NULL,
                lease_until BIGINT,
                lease_owner TEXT,
                last_error TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (site, issue_key, dedupe_key)
            )
            """,
            "CREATE UNIQUE INDEX deliveries_content ON deliveries(site, issue_key, content_key)",
            "CREATE INDEX deliveries_runnable ON deliveries(status, next_run_at)",
            "CREATE INDEX deliveries_issue ON deliveries(site, issue_key, status)",
            "CREATE INDEX deliveries_project ON deliveries(project_id, id)",
        ]),
        // Payloads are written once; the queue columns of `events` change twice per event. Apart, a status
        // change rewrites a page of narrow rows instead of the page holding the payload: a third of the
        // write-ahead log per webhook, so fewer checkpoints stall the commits behind them.
        ("0003_event_payloads", [
            """
            CREATE TABLE event_payloads (
                event_id TEXT PRIMARY KEY REFERENCES events(id),
                payload TEXT NOT NULL
            )
            """,
            "INSERT INTO event_payloads (event_id, payload) SELECT id, payload FROM events",
            "ALTER TABLE events DROP COLUMN payload",
        ]),
        // An inheriting integration keeps no copy of its default: its settings are resolved from the
        // nearest default when read, so the copies of GitLab's propagation cannot disagree with it.
        ("0004_inherit_by_resolution", [
            "ALTER TABLE integrations ADD COLUMN uses_default BOOLEAN NOT NULL DEFAULT FALSE",
            "UPDATE integrations SET uses_default = TRUE WHERE inherit_from_id IS NOT NULL",
            "DROP INDEX integrations_inherit_from",
            "ALTER TABLE integrations DROP COLUMN inherit_from_id",
            "CREATE INDEX integrations_group ON integrations(group_id)",
            "CREATE INDEX integrations_project ON integrations(project_id)",
        ]),
        // Web sign-in sessions, by the hash of the cookie's value; the CSRF token of each session.
        ("0005_web_sessions", [
            """
            CREATE TABLE web_sessions (
                id_hash TEXT PRIMARY KEY,
                token_id BIGINT,
                is_admin BOOLEAN NOT NULL,
                csrf_token TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX web_sessions_expiry ON web_sessions(expires_at)",
        ]),
        // Findings of uploaded security reports, one row per (project, fingerprint), and the Jira issue
        // created for each (a "creating" row is the claim that keeps a double click to one issue).
        ("0006_vulnerabilities", [
            """
            CREATE TABLE vulnerabilities (
                id INTEGER PRIMARY KEY,
                project_id BIGINT NOT NULL,
                fingerprint TEXT NOT NULL,
                report_type TEXT NOT NULL,
                scanner_id TEXT NOT NULL,
                severity TEXT NOT NULL,
                state TEXT NOT NULL,
                finding TEXT NOT NULL,
                commit_sha TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                resolved_at BIGINT,
                UNIQUE (project_id, fingerprint)
            )
            """,
            "CREATE INDEX vulnerabilities_list ON vulnerabilities(project_id, state, severity)",
            """
            CREATE TABLE vulnerability_issue_links (
                vulnerability_id INTEGER PRIMARY KEY REFERENCES vulnerabilities(id),
                state TEXT NOT NULL,
                issue_id TEXT,
                issue_key TEXT,
                web_url TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
        ]),
        // Robustness: webhook secrets findable by a keyed fingerprint (a wrong token is refused before the
        // body is read), planning attempts per event, the processes that hold leases and their heartbeats,
        // and an index that walks the sites and, within a site, the issues with pending work (each issue's
        // earliest delivery first), so no backlog of one site or one issue is scanned to find another's.
        ("0007_robust_queue", [
            "ALTER TABLE projects ADD COLUMN webhook_secret_fp TEXT",
            "ALTER TABLE groups ADD COLUMN webhook_secret_fp TEXT",
            "CREATE INDEX projects_secret_fp ON projects(webhook_secret_fp)",
            "CREATE INDEX groups_secret_fp ON groups(webhook_secret_fp)",
            "ALTER TABLE events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE events ADD COLUMN note TEXT",
            """
            CREATE TABLE workers (
                id TEXT PRIMARY KEY,
                started_at BIGINT NOT NULL,
                heartbeat_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX deliveries_site_runnable ON deliveries(status, site, issue_key, next_run_at)",
            "CREATE INDEX deliveries_lease_owner ON deliveries(lease_owner)",
        ]),
    ]
}
