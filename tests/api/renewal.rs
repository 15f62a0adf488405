//! Channel renewal timing (against the emulator) and the leaders' advisory locks.

use std::sync::Arc;
use std::time::Duration;

use calsync::push::registry::ChannelManager;
use calsync::push::token::ChannelTokens;
use calsync_testkit::{Google, TestApp, create_database, spawn_synced_app, syncer, wait_for};
use chrono::Utc;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};

use crate::push_pipeline::active_channels;

/// A channel manager asking Google for `ttl` and renewing `margin` before expiry (no loop running).
async fn manager(google: &Google, ttl: Duration, margin: Duration) -> (TestApp, ChannelManager) {
    let app = spawn_synced_app(google, &[("CALSYNC__SERVER__WORKERS_ENABLED", "false")]).await;
    let syncer = syncer(&app).await;
    let manager = ChannelManager {
        pool: app.pool.clone(),
        google: syncer.google.clone(),
        tokens: ChannelTokens::new("test-channel-secret"),
        address: format!("{}/webhooks/google", app.address),
        ttl,
        margin,
        alerts: Arc::new(calsync::sync::alerts::LogAlerts),
    };
    (app, manager)
}

/// A manager asking for week-long channels, renewed a day before expiry.
async fn weekly_manager(google: &Google) -> (TestApp, ChannelManager) {
    let (week, day) = (Duration::from_secs(7 * 86_400), Duration::from_secs(86_400));
    manager(google, week, day).await
}

async fn channels(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM watch_channels")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_granted_life_shorter_than_the_margin_is_renewed_halfway_not_every_pass() {
    let google = Google::start().await;
    // Google grants 10-minute channels; the margin is a day.
    let day = Duration::from_secs(86_400);
    let (app, m) = manager(&google, Duration::from_secs(600), day).await;
    assert_eq!(m.reconcile().await.unwrap(), 3);
    assert_eq!(
        m.reconcile().await.unwrap(),
        0,
        "fresh channels renewed again"
    );
    assert_eq!(channels(&app).await, 3);
    let ahead = m.next_renewal().await.unwrap().unwrap() - Utc::now();
    assert!(
        ahead > chrono::Duration::minutes(4) && ahead <= chrono::Duration::minutes(5),
        "next renewal in {ahead}"
    );
}

#[tokio::test]
async fn an_old_channel_that_would_not_stop_does_not_bring_the_renewal_forward() {
    let google = Google::start().await;
    let (app, m) = weekly_manager(&google).await;
    assert_eq!(m.reconcile().await.unwrap(), 3);
    // primary's previous channel, which Google would not stop: still active, expiring in an hour.
    sqlx::query(
        "INSERT INTO watch_channels (id, calendar_id, address, expiration, state, created_at)
         VALUES ('old', 'primary', 'x', now() + interval '1 hour', 'active', now() - interval '7 days')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let ahead = m.next_renewal().await.unwrap().unwrap() - Utc::now();
    assert!(ahead > chrono::Duration::days(5), "next renewal in {ahead}");
    assert_eq!(m.reconcile().await.unwrap(), 0);
    assert_eq!(channels(&app).await, 4);
}

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
    let led: Result<Option<()>, sqlx::Error> = calsync::db::locks::lead(&pool, KEY, async |conn| {
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
    let leading = calsync::db::locks::lead(&pool, KEY, async |_| {
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
        calsync::db::locks::lead(&pool, KEY, async |_| Ok(7)).await;
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
        calsync::db::locks::lead(&pool, KEY, async |_| Ok(7)).await;
    assert_eq!(led.unwrap(), None);
}

#[tokio::test]
async fn a_channel_is_renewed_by_the_timer_before_it_lapses() {
    let google = Google::start().await;
    // Channels live 20 s and are renewed 16 s before they expire: about 4 s after they are made,
    // with a wide margin before they lapse even on a loaded machine.
    let app = TestApp::builder()
        .synced_to(&google)
        .with_settings(|s: &mut calsync::config::Settings| {
            s.push.channel_ttl_secs = 20;
            s.push.renew_margin_secs = 16;
        })
        .spawn()
        .await;
    wait_for("channels", Duration::from_secs(15), || async {
        active_channels(&app).await.len() == 3
    })
    .await;
    let first = active_channels(&app)
        .await
        .into_iter()
        .find(|c| c.1 == "primary")
        .unwrap();
    let first_expiry: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT expiration FROM watch_channels WHERE id = $1")
            .bind(&first.0)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    wait_for("a renewed channel", Duration::from_secs(15), || async {
        active_channels(&app)
            .await
            .iter()
            .any(|c| c.1 == "primary" && c.0 != first.0)
    })
    .await;
    assert!(
        chrono::Utc::now() < first_expiry,
        "renewed before the old channel lapsed"
    );
    // New channel first, then the old one is stopped (a moment later, still before it lapses).
    wait_for(
        "the old channel stopped",
        Duration::from_secs(5),
        || async {
            let state: String =
                sqlx::query_scalar("SELECT state FROM watch_channels WHERE id = $1")
                    .bind(&first.0)
                    .fetch_one(&app.pool)
                    .await
                    .unwrap();
            state == "stopped"
        },
    )
    .await;
}

#[tokio::test]
async fn a_long_life_is_asked_and_the_expiration_google_grants_is_kept() {
    let google = Google::start().await;
    // calsync asks for 30 days (the default); the emulator, like Google, grants at most 7.
    let asked = Duration::from_secs(calsync::config::PushSettings::default().channel_ttl_secs);
    assert_eq!(asked, Duration::from_secs(30 * 86_400));
    let (app, m) = manager(&google, asked, Duration::from_secs(86_400)).await;
    assert_eq!(m.reconcile().await.unwrap(), 3);
    let lives: Vec<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM expiration - created_at)::float8 FROM watch_channels",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(lives.len(), 3);
    for life in lives {
        assert!(
            (life - 604_800.0).abs() < 60.0,
            "granted life kept: {life} s"
        );
    }
}

#[tokio::test]
async fn renewals_of_channels_made_together_spread_over_a_whole_margin() {
    let (db_url, _) = create_database().await;
    let pool = PgPoolOptions::new().connect(&db_url).await.unwrap();
    calsync::db::migrate(&pool).await.unwrap();
    // 2,000 channels created in the same second with the same 7-day grant, a one-day margin.
    let dues: Vec<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM (now() + interval '7 days')
                  - calsync_renewal_due(gen_random_uuid()::text, now(), now() + interval '7 days', 86400, 3))::float8
           FROM generate_series(1, 2000)",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let hours: Vec<f64> = dues.iter().map(|s| s / 3600.0).collect();
    let (lo, hi) = hours
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), h| (lo.min(*h), hi.max(*h)));
    assert!(
        lo >= 24.0 && hi <= 48.0,
        "renewed 1 to 2 days early: {lo:.2} h … {hi:.2} h"
    );
    assert!(
        hi - lo > 23.0,
        "spread over the margin: {lo:.2} h … {hi:.2} h"
    );
    // No ten minutes hold more than 3 % of the renewals (1/144 of them on average).
    let mut buckets = std::collections::HashMap::new();
    for h in &hours {
        *buckets.entry((h * 6.0) as i64).or_insert(0usize) += 1;
    }
    let busiest = buckets.values().max().copied().unwrap_or(0);
    assert!(busiest <= 60, "{busiest} renewals in one ten-minute window");
    // A life shorter than twice the margin is still renewed halfway, and never before `min_after`.
    let (half, floor): (f64, f64) = sqlx::query_as(
        "SELECT EXTRACT(EPOCH FROM calsync_renewal_due('c', now(), now() + interval '10 minutes', 86400, 3) - now())::float8,
                EXTRACT(EPOCH FROM calsync_renewal_due('c', now(), now() + interval '4 seconds', 86400, 3) - now())::float8",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!((half - 300.0).abs() < 1.0, "halfway: {half}");
    assert!((floor - 3.0).abs() < 0.5, "floor: {floor}");
}

#[tokio::test]
async fn a_channel_google_created_but_calsync_could_not_record_is_stopped_at_google() {
    let google = Google::start().await;
    let (app, m) = weekly_manager(&google).await;
    // The database fails the step after `events.watch` answered: storing the resource id.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_activation() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'activation refused by the test'; END $$;
         CREATE TRIGGER refuse_activation BEFORE UPDATE ON watch_channels FOR EACH ROW
           WHEN (NEW.state = 'active') EXECUTE FUNCTION refuse_activation();",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let err = m.create("primary").await.expect_err("the activation fails");
    assert!(err.to_string().contains("database"), "{err}");
    let (id, state): (String, String) =
        sqlx::query_as("SELECT id, state FROM watch_channels WHERE calendar_id = 'primary'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let at_google = google
        .control("GET", "/emulator/channels", serde_json::Value::Null)
        .await;
    let live = at_google["channels"].as_array().unwrap();
    assert!(
        live.iter().all(|c| c["id"] != id.as_str()),
        "Google still holds the unrecorded channel {id}: {live:?}"
    );
    assert_eq!(state, "failed");
    // Once the database takes the write again, the next reconcile gives the calendar its channel.
    sqlx::raw_sql("DROP TRIGGER refuse_activation ON watch_channels")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(m.reconcile().await.unwrap(), 3);
    assert_eq!(active_channels(&app).await.len(), 3);
}
