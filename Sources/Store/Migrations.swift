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
    ]
}
