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

/// A connection that LISTENs must never be one of the shared pool's: a notification could meet the
/// next statement's reply there. Listeners connect on pools of their own, and reconnects cut short
/// by the waiter's timeout stay there too.
#[tokio::test]
async fn listeners_never_take_a_connection_from_the_shared_pool() {
    let (url, name) = create_database().await;
    // calsync's own pool, with one connection.
    let pool = calsync::db::pool(&calsync::config::DatabaseSettings {
        url: url.clone(),
        max_connections: 1,
        acquire_timeout_secs: 2,
        statement_timeout_secs: 30,
    })
    .unwrap();
    let mut listener = Some(calsync::db::listen(&pool, "calsync_test").await.unwrap());
    assert_eq!(
        pool.size(),
        0,
        "the listener took a connection of the shared pool"
    );
    // Its connection is cut; reconnects are cut short by a tiny wait, over and over, while
    // notifications keep coming.
    let mut admin = PgConnection::connect(&ADMIN_URL).await.unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = '{name}' AND query ILIKE '%LISTEN%'"
        )))
        .await
        .unwrap();
    let mut notifier = PgConnection::connect(&url).await.unwrap();
    for _ in 0..50 {
        notifier.execute("NOTIFY calsync_test").await.unwrap();
        calsync::db::wait_notification(&mut listener, Duration::from_millis(1)).await;
    }
    assert_eq!(
        pool.size(),
        0,
        "a reconnect cut short handed a listening connection to the shared pool"
    );
    drop(listener);
    notifier.execute("NOTIFY calsync_test").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        pool.size(),
        0,
        "a dropped listener handed its connection to the shared pool"
    );
    // The shared pool's one connection is its own, and its statements meet only their replies.
    for i in 0..20 {
        let got: i32 = sqlx::query_scalar("SELECT $1")
            .bind(i)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(got, i);
        notifier.execute("NOTIFY calsync_test").await.unwrap();
    }
    assert_eq!(pool.size(), 1);
}
