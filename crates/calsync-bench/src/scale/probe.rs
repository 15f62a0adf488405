//! What the run reads from PostgreSQL and the emulator: calsync's connections, channels and busy
//! calendars, the request log's pacing, the floor, stale events, and the
//! renewals' and safety syncs' spread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use serde_json::Value;
use sqlx::PgPool;

use calsync::config::Settings;
use calsync::db::probes;

use super::*;

/// calsync's connections to the database (the bench's own are named).
pub(super) async fn connections(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
           AND application_name <> $1",
    )
    .bind(BENCH_APP)
    .fetch_one(pool)
    .await?)
}

/// Samples calsync's connections every 200 ms; `stop` gives the peak.
pub(super) struct Sampler {
    pub(super) stop: tokio::sync::oneshot::Sender<()>,
    pub(super) task: tokio::task::JoinHandle<i64>,
}

impl Sampler {
    pub(super) fn start(pool: PgPool) -> Self {
        let (stop, mut rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut peak = 0;
            loop {
                if let Ok(n) = connections(&pool).await {
                    peak = peak.max(n);
                }
                tokio::select! {
                    _ = &mut rx => return peak,
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
        });
        Self { stop, task }
    }

    pub(super) async fn stop(self) -> i64 {
        let _ = self.stop.send(());
        self.task.await.unwrap_or(0)
    }
}

pub(super) async fn wait_live(pool: &PgPool, n: i64, limit: Duration) -> anyhow::Result<()> {
    let t = Instant::now();
    loop {
        let live = probes::active_channels(pool).await.unwrap_or(0);
        if live >= n {
            return Ok(());
        }
        if t.elapsed() > limit {
            return Err(anyhow!("{live} of {n} channels live after {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) async fn wait_idle(pool: &PgPool, limit: Duration) -> anyhow::Result<()> {
    let t = Instant::now();
    loop {
        let busy = probes::busy_calendars(pool).await.unwrap_or(i64::MAX);
        if busy == 0 {
            return Ok(());
        }
        if t.elapsed() > limit {
            return Err(anyhow!("{busy} calendars still busy after {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) async fn requests(http: &reqwest::Client, emu: &str) -> anyhow::Result<Vec<Value>> {
    let mut v: Value = http
        .get(format!("{emu}/emulator/requests"))
        .send()
        .await?
        .json()
        .await?;
    match v["requests"].take() {
        Value::Array(a) => Ok(a),
        _ => Err(anyhow!("the emulator's request log is not a list")),
    }
}

pub(super) async fn count(http: &reqwest::Client, emu: &str, method: &str) -> anyhow::Result<u64> {
    let v: Value = http
        .get(format!("{emu}/emulator/stats"))
        .send()
        .await?
        .json()
        .await?;
    Ok(v["counts"][method].as_u64().unwrap_or(0))
}

/// How the cold start's Calendar API calls were paced: total, the busiest second and minute.
pub(super) fn pacing(log: &[Value]) -> String {
    let api: Vec<(i64, &str)> = log
        .iter()
        .filter_map(|e| Some((e["at_ms"].as_i64()?, e["method"].as_str()?)))
        .filter(|(_, m)| *m != "token")
        .collect();
    let watch: Vec<i64> = api
        .iter()
        .filter(|(_, m)| *m == "events.watch")
        .map(|(t, _)| *t)
        .collect();
    let all: Vec<i64> = api.iter().map(|(t, _)| *t).collect();
    let busiest = |ts: &[i64], window: i64| -> usize {
        let mut best = 0;
        let mut j = 0;
        for i in 0..ts.len() {
            while ts[i] - ts[j] >= window {
                j += 1;
            }
            best = best.max(i - j + 1);
        }
        best
    };
    let span = |ts: &[i64]| match (ts.first(), ts.last()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1000.0,
        _ => 0.0,
    };
    format!(
        "{} events.watch over {:.1} s; all Calendar API calls {} (busiest minute {}, busiest second {}; \
         quota 10,000/min per project, 600/min per account)",
        watch.len(),
        span(&watch),
        all.len(),
        busiest(&all, 60_000),
        busiest(&all, 1_000),
    )
}

/// The floor: one emulator round trip (the event's GET) and one single-row upsert, `n` times, on
/// calendars drawn in turn.
pub(super) async fn floor(
    http: &reqwest::Client,
    emu: &str,
    pool: &PgPool,
    cals: &[Cal],
    n: usize,
    until: Option<Instant>,
) -> anyhow::Result<Vec<f64>> {
    let mut out = Vec::with_capacity(n);
    for i in 0.. {
        if until.is_some_and(|u| Instant::now() >= u) || (until.is_none() && i >= n) {
            break;
        }
        let c = &cals[(i * 7919) % cals.len()];
        let t0 = Instant::now();
        let got: Value = http
            .get(format!(
                "{emu}/emulator/users/{}/calendars/{}/events/{}",
                c.email, c.google_id, c.event
            ))
            .send()
            .await?
            .json()
            .await?;
        probes::store_raw(pool, &c.key, &c.event, &got).await?;
        out.push(t0.elapsed().as_secs_f64() * 1000.0);
        if until.is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}

/// Events whose stored etag is not the last one Google gave the bench.
pub(super) async fn stale(
    pool: &PgPool,
    last: &Arc<Mutex<HashMap<String, String>>>,
) -> anyhow::Result<usize> {
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT calendar_id, etag FROM events WHERE deleted_at IS NULL")
            .fetch_all(pool)
            .await?;
    let stored: HashMap<String, Option<String>> = rows.into_iter().collect();
    let last = last.lock().unwrap_or_else(|p| p.into_inner());
    Ok(last
        .iter()
        .filter(|(cal, etag)| stored.get(*cal).and_then(Option::as_deref) != Some(etag.as_str()))
        .count())
}

/// Renewals at steady state, from calsync's own due function over the live channels: the busiest
/// minute, against 2 % of the channels.
pub(super) async fn renewals(pool: &PgPool, base: &Settings) -> anyhow::Result<(String, String)> {
    let margin = base.push.renew_margin_secs as f64;
    let per_minute: Vec<(i64,)> = sqlx::query_as(
        "SELECT count(*) FROM watch_channels
          WHERE state = 'active'
          GROUP BY date_trunc('minute', calsync_renewal_due(id, created_at, expiration, $1, 3))
          ORDER BY 1 DESC",
    )
    .bind(margin)
    .fetch_all(pool)
    .await?;
    let total: i64 = per_minute.iter().map(|r| r.0).sum();
    let busiest = per_minute.first().map_or(0, |r| r.0);
    let (first, last): (Option<chrono::DateTime<chrono::Utc>>, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "SELECT min(d), max(d) FROM (SELECT calsync_renewal_due(id, created_at, expiration, $1, 3) d
           FROM watch_channels WHERE state = 'active') x",
    )
    .bind(margin)
    .fetch_one(pool)
    .await?;
    let hours = match (first, last) {
        (Some(a), Some(b)) => (b - a).num_seconds() as f64 / 3600.0,
        _ => 0.0,
    };
    let share = busiest as f64 / total.max(1) as f64 * 100.0;
    let mark = if share <= 2.0 { "✓" } else { "✗" };
    Ok((
        "channel renewals, next cycle (calsync_renewal_due over the live channels)".into(),
        format!(
            "{total} renewals spread over {hours:.1} h: busiest minute {busiest} ({share:.2} % of channels, ≤ 2 % {mark}), \
             mean {:.1}/min → {:.1} Calendar calls/min (watch + stop)",
            total as f64 / (hours * 60.0).max(1.0),
            2.0 * total as f64 / (hours * 60.0).max(1.0),
        ),
    ))
}

/// When the safety syncs of the live calendars fall due next: the busiest minute.
pub(super) async fn safety_spread(
    pool: &PgPool,
    base: &Settings,
) -> anyhow::Result<(String, String)> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT count(*) FROM sync_state
          WHERE last_success_at IS NOT NULL
          -- calsync's own rule (`next_poll_due`): the interval less a jitter of up to a tenth.
          GROUP BY date_trunc('minute', last_success_at + make_interval(
                     secs => $1 * (1 - 0.1 * ('x' || substr(md5(calendar_id), 1, 8))::bit(32)::bigint
                                       / 4294967296.0)))
          ORDER BY 1 DESC",
    )
    .bind(base.push.safety_interval().as_secs_f64())
    .fetch_all(pool)
    .await?;
    let total: i64 = rows.iter().map(|r| r.0).sum();
    let busiest = rows.first().map_or(0, |r| r.0);
    Ok((
        "safety syncs, next cycle (last success + push.safety_sync_hours less its jitter)".into(),
        format!(
            "{total} calendars over {} minutes; busiest minute {busiest} events.list",
            rows.len()
        ),
    ))
}
