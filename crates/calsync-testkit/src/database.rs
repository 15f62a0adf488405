//! Test databases: a fresh PostgreSQL database per test, and admin statements against their server.

use std::sync::LazyLock;

use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

/// Where test databases are created (`TEST_DATABASE_URL`, default the local server).
pub static ADMIN_URL: LazyLock<String> = LazyLock::new(|| {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
});

/// The Redis every test app uses (`REDIS_URL`, default the local server), each under its own key prefix.
pub static REDIS_URL: LazyLock<String> = LazyLock::new(|| {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
});

/// This run's tag in the names of its databases (`CALSYNC_TEST_RUN`, which `./run test` sets; at most 16
/// of its letters and digits, default `adhoc`), so a run drops only the databases it created.
pub static RUN_TAG: LazyLock<String> = LazyLock::new(|| {
    let tag: String = std::env::var("CALSYNC_TEST_RUN")
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(16)
        .collect();
    if tag.is_empty() { "adhoc".into() } else { tag }
});

/// Creates an empty database with a unique name (`calsync_test_<run tag>_<uuid>`) and returns its URL and name.
pub async fn create_database() -> (String, String) {
    let name = format!("calsync_test_{}_{}", *RUN_TAG, Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&ADMIN_URL)
        .await
        .expect("PostgreSQL must be running (see README)");
    conn.execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
        .await
        .expect("create test database");
    (database_url(&name), name)
}

/// The URL of the test database `name` (e.g. to look at it after its server stopped).
pub fn database_url(name: &str) -> String {
    let mut url = url::Url::parse(&ADMIN_URL).expect("TEST_DATABASE_URL must be a URL");
    url.set_path(name);
    url.to_string()
}

/// Runs `sql` against the admin database (e.g. to cut a test database off and bring it back).
pub async fn admin_exec(sql: &str) {
    let mut conn = PgConnection::connect(&ADMIN_URL)
        .await
        .expect("admin connection");
    conn.execute(sqlx::AssertSqlSafe(sql.to_string()))
        .await
        .expect("admin statement");
}

/// `pg_dump` of one test database, as text (what an operator's backup would hold).
pub fn pg_dump(name: &str) -> String {
    let url = url::Url::parse(&ADMIN_URL).expect("TEST_DATABASE_URL must be a URL");
    let out = std::process::Command::new("pg_dump")
        .args(["-h", url.host_str().unwrap_or("127.0.0.1")])
        .args(["-p", &url.port().unwrap_or(5432).to_string()])
        .args([
            "-U",
            if url.username().is_empty() {
                "postgres"
            } else {
                url.username()
            },
        ])
        .args(["--no-owner", name])
        .output()
        .expect("pg_dump (PostgreSQL's client tools)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("a text dump")
}
