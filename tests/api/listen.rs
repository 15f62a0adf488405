//! LISTEN connections that cannot come back: the loops that wait on them pause instead of spinning.

use std::time::{Duration, Instant};

use calsync_testkit::{ADMIN_URL, create_database};
use sqlx::{Connection, Executor, PgConnection};

#[tokio::test]
async fn a_listener_that_cannot_reconnect_is_retried_at_a_slow_pace() {
    let (url, name) = create_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect(&url)
        .await
        .unwrap();
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .unwrap();
    listener.listen("calsync_test").await.unwrap();
    let mut listener = Some(listener);
    // The database refuses new connections and the listener's own connection is cut.
    let mut admin = PgConnection::connect(&ADMIN_URL).await.unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            r#"ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false"#
        )))
        .await
        .unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )))
        .await
        .unwrap();
    // A waiter loop, as the sync worker and the writer run it, for three seconds.
    let started = Instant::now();
    let mut waits = 0;
    while started.elapsed() < Duration::from_secs(3) {
        calsync::db::wait_notification(&mut listener, Duration::from_secs(5)).await;
        waits += 1;
    }
    assert!(
        waits <= 6,
        "{waits} wake-ups in 3 s: the loop spins while the connection is down"
    );
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            r#"ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true"#
        )))
        .await
        .unwrap();
}
