//! The seed's Redis health key and `calsync healthcheck`, against a real Redis.

use std::time::Duration;

use calsync::config::RedisSettings;
use calsync::redis_health::{LastSync, RedisHealth};
use calsync_testkit::{REDIS_URL, SAMPLE_CONFIG};

fn settings(prefix: &str) -> RedisSettings {
    RedisSettings {
        url: REDIS_URL.clone(),
        key_prefix: prefix.into(),
        timeout_secs: 2,
    }
}

#[tokio::test]
async fn last_sync_round_trips_with_a_one_hour_ttl() {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let redis = RedisHealth::connect(&settings(&prefix)).unwrap();
    assert!(redis.ping().await, "Redis must be running (see README)");
    assert_eq!(redis.read_last_sync().await.unwrap(), None);
    let value = LastSync::now(2, 1, 0, 0);
    redis.write_last_sync(&value).await.unwrap();
    assert_eq!(redis.read_last_sync().await.unwrap(), Some(value));
    assert_eq!(redis.last_sync_key(), format!("{prefix}calendar:last_sync"));
    // The seed's TTL: one hour.
    let raw = fred::prelude::Config::from_url(&REDIS_URL).unwrap();
    let client = fred::prelude::Builder::from_config(raw).build().unwrap();
    use fred::prelude::{ClientLike, KeysInterface};
    client.init().await.unwrap();
    let ttl: i64 = client.ttl(redis.last_sync_key()).await.unwrap();
    assert!((3590..=3600).contains(&ttl), "ttl {ttl}");
    let json: String = client.get(redis.last_sync_key()).await.unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    for field in [
        "timestamp",
        "events_created",
        "events_updated",
        "events_deleted",
        "errors_count",
    ] {
        assert!(parsed.get(field).is_some(), "{field} missing in {json}");
    }
    let _ = client.quit().await;
}

#[tokio::test]
async fn a_long_poll_interval_stretches_the_ttl_to_two_intervals() {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let redis = RedisHealth::connect(&settings(&prefix))
        .unwrap()
        .with_poll_interval(Duration::from_secs(2 * 3600));
    redis
        .write_last_sync(&LastSync::now(0, 0, 0, 0))
        .await
        .unwrap();
    let raw = fred::prelude::Config::from_url(&REDIS_URL).unwrap();
    let client = fred::prelude::Builder::from_config(raw).build().unwrap();
    use fred::prelude::{ClientLike, KeysInterface};
    client.init().await.unwrap();
    let ttl: i64 = client.ttl(redis.last_sync_key()).await.unwrap();
    assert!((4 * 3600 - 10..=4 * 3600).contains(&ttl), "ttl {ttl}");
    let _: i64 = client.del(redis.last_sync_key()).await.unwrap();
    let _ = client.quit().await;
}

#[tokio::test]
async fn an_unreachable_redis_fails_fast_instead_of_hanging() {
    let redis = RedisHealth::connect(&RedisSettings {
        url: "redis://127.0.0.1:1".into(),
        key_prefix: String::new(),
        timeout_secs: 1,
    })
    .unwrap();
    let started = std::time::Instant::now();
    assert!(!redis.ping().await);
    assert!(
        redis
            .write_last_sync(&LastSync::now(0, 0, 0, 0))
            .await
            .is_err()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn healthcheck_exits_zero_only_when_the_key_is_fresh() {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let dir = std::env::temp_dir().join(format!("calsync-hc-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("c.yaml");
    std::fs::write(&cfg, SAMPLE_CONFIG).unwrap();
    let run = || {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_calsync"));
        cmd.arg("healthcheck")
            .env_clear()
            .env("CALENDAR_CONFIG_PATH", &cfg)
            .env("REDIS_URL", REDIS_URL.as_str())
            .env("CALSYNC__REDIS__KEY_PREFIX", &prefix)
            .kill_on_drop(true);
        async move {
            tokio::time::timeout(Duration::from_secs(20), cmd.output())
                .await
                .unwrap()
                .unwrap()
        }
    };
    let absent = run().await;
    assert_eq!(
        absent.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&absent.stderr)
    );

    let redis = RedisHealth::connect(&settings(&prefix)).unwrap();
    let mut stale = LastSync::now(0, 0, 0, 0);
    stale.timestamp = "2020-01-01T00:00:00Z".into();
    redis.write_last_sync(&stale).await.unwrap();
    assert_eq!(run().await.status.code(), Some(1));

    redis
        .write_last_sync(&LastSync::now(1, 2, 3, 0))
        .await
        .unwrap();
    let fresh = run().await;
    assert_eq!(
        fresh.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );
}
