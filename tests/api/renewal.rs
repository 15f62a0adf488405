//! The leaders' advisory locks (poll and channel renewal).

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};

use crate::helpers::{create_database, wait_for};

const KEY: i64 = 0x7465_7374;

async fn lock_is_free(db_url: &str) -> bool {
    let mut other = PgConnection::connect(db_url).await.unwrap();
    let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(KEY)
        .fetch_one(&mut other)
        .await
        .unwrap();
    free
}

#[tokio::test]
async fn a_leader_that_fails_and_cannot_unlock_does_not_pool_its_lock() {
    let (db_url, _) = create_database().await;
    // One connection: a lock returned with it to the pool would be held for good.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&db_url)
        .await
        .unwrap();
    // The work fails inside a transaction it leaves aborted: the unlock statement fails too.
    let led: Result<Option<()>, sqlx::Error> = calsync::leader::lead(&pool, KEY, async |conn| {
        sqlx::query("BEGIN").execute(&mut **conn).await?;
        sqlx::query("SELECT 1 / 0").execute(&mut **conn).await?;
        Ok(())
    })
    .await;
    assert!(led.is_err());
    wait_for(
        "another session to lead",
        Duration::from_secs(5),
        || async { lock_is_free(&db_url).await },
    )
    .await;
    sqlx::query("SELECT 1").execute(&pool).await.unwrap();
}

#[tokio::test]
async fn a_cancelled_leader_does_not_pool_its_lock() {
    let (db_url, _) = create_database().await;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&db_url)
        .await
        .unwrap();
    let leading = calsync::leader::lead(&pool, KEY, async |_| {
        std::future::pending::<Result<(), sqlx::Error>>().await
    });
    let _ = tokio::time::timeout(Duration::from_millis(300), leading).await;
    wait_for(
        "another session to lead",
        Duration::from_secs(5),
        || async { lock_is_free(&db_url).await },
    )
    .await;
}

#[tokio::test]
async fn a_leader_that_ends_well_unlocks_and_follows_another() {
    let (db_url, _) = create_database().await;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&db_url)
        .await
        .unwrap();
    let led: Result<Option<u8>, sqlx::Error> =
        calsync::leader::lead(&pool, KEY, async |_| Ok(7)).await;
    assert_eq!(led.unwrap(), Some(7));
    assert!(lock_is_free(&db_url).await);
    // That other session now leads: this pool follows.
    let mut other = PgConnection::connect(&db_url).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(KEY)
        .execute(&mut other)
        .await
        .unwrap();
    let led: Result<Option<u8>, sqlx::Error> =
        calsync::leader::lead(&pool, KEY, async |_| Ok(7)).await;
    assert_eq!(led.unwrap(), None);
}
