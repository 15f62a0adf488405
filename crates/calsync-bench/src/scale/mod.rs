//! The scale run (`--scale`): many Google accounts (1,000 × 3 calendars; `--quick`: 100 × 3) on one
//! emulator, calsync as real `calsync serve` child processes (so that RSS and connections are
//! calsync's own) behind a round-robin forwarder (the public webhook address), on a fresh database.
//!
//! 1. A baseline: one account (3 calendars) on a database of its own, for RSS per 1,000 calendars.
//! 2. One process: cold start until every calendar has a live channel (watch calls paced by the
//!    real quotas: 600/min per account, 10,000/min per project), idle RSS; then changes on 100
//!    calendars a second: push → database delay next to the floor, `events.list` calls per push;
//!    then the same changes while valid pushes hammer the webhook (acknowledgements per second).
//! 3. Three replicas on the same database (the channels carry over: same public address): the
//!    same changes, one replica killed (SIGKILL) a third of the way in: what was lost (nothing may
//!    be), how long until its calendars were served again.
//!
//! Renewals at steady state are computed from the stored channels with calsync's own due function
//! (`calsync_renewal_due`): a 7-day channel is renewed a day before it expires, after a jitter, so
//! none falls inside a run of minutes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;

use calsync::config::Settings;
use calsync::db::probes;

use crate::forwarder::Forwarder;
use crate::rig::{self, pct};
use crate::split::{Sent, breakdown};

mod kill;
mod probe;
mod procs;
mod setup;
mod window;

use kill::*;
use probe::*;
use procs::*;
use setup::*;
use window::*;

type Rows = Vec<(String, String)>;

const CHANNEL_SECRET: &str = "scale-channel-secret-0123456789abcdef";
const BENCH_APP: &str = "calsync-bench";

/// Sizes of a scale run.
#[derive(Debug, Clone, Copy)]
pub struct ScaleSizes {
    pub accounts: usize,
    /// Changes per second at Google, each on another calendar.
    pub rate: u32,
    /// Seconds of each load window.
    pub window_secs: u64,
    /// Valid pushes sent to the webhook during the acknowledgement window.
    pub pushes: usize,
}

impl ScaleSizes {
    pub fn full() -> Self {
        Self {
            accounts: 1_000,
            rate: 100,
            window_secs: 30,
            pushes: 20_000,
        }
    }
    pub fn quick() -> Self {
        Self {
            accounts: 100,
            rate: 100,
            window_secs: 10,
            pushes: 5_000,
        }
    }
}

/// One calendar of the run, with the event the load changes.
#[derive(Debug, Clone)]
struct Cal {
    key: String,
    email: String,
    google_id: String,
    event: String,
}

/// The whole scale run; its rows.
pub async fn measure(
    base: &Settings,
    config_path: &Path,
    sizes: ScaleSizes,
) -> anyhow::Result<Rows> {
    let calsync = std::env::current_exe()?
        .parent()
        .map(|d| d.join("calsync"))
        .filter(|p| p.is_file())
        .ok_or_else(|| anyhow!("no `calsync` beside calsync-bench: build it (`cargo build --release -p calsync -p calsync-bench`)"))?;
    let emu = rig::emulator("scale").await?;
    let (http, emu_url) = (emu.http.clone(), emu.url.clone());
    let dir = emu.creds.join("scale");
    std::fs::create_dir_all(&dir)?;
    let forwarder = Forwarder::start().await?;
    let redis = base.redis.url.clone();
    let env = Env {
        calsync,
        vars: vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("REDIS_URL".into(), redis),
            (
                "CALSYNC__REDIS__KEY_PREFIX".into(),
                format!("scale:{}:", std::process::id()),
            ),
            ("WEBHOOK_PUBLIC_URL".into(), forwarder.url.clone()),
            ("CHANNEL_TOKEN_SECRET".into(), CHANNEL_SECRET.into()),
            (
                "ADMIN_JWT_SECRET".into(),
                "scale-admin-secret-0123456789abcdef0123".into(),
            ),
            (
                "RUST_LOG".into(),
                std::env::var("CALSYNC_SCALE_LOG").unwrap_or_else(|_| "warn".into()),
            ),
            ("CALSYNC__SERVER__SHUTDOWN_GRACE_SECS".into(), "2".into()),
        ],
        dir: dir.clone(),
    };

    let t = Instant::now();
    let cals = make_users(&http, &emu_url, &emu.creds, sizes.accounts).await?;
    tracing::info!(
        accounts = sizes.accounts,
        calendars = cals.len(),
        secs = t.elapsed().as_secs_f64(),
        "scale: emulator users ready"
    );
    let mut rows: Rows = Vec::new();
    let result = async {
        // 1. Baseline: the first account alone, on its own database.
        let (base_url, base_db) = rig::fresh_database(&base.database.url, "scale_base").await?;
        let base_cfg = write_config(config_path, &dir, "base", &cals[..3], &emu_url, &emu.creds)?;
        let mut small = env.spawn("baseline", &base_cfg, &base_url).await?;
        forwarder.set_backends(vec![small.port]);
        let base_pool = bench_pool(&base_url).await?;
        wait_live(&base_pool, 3, Duration::from_secs(60)).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let base_rss = small.rss_mb();
        small.stop().await;
        base_pool.close().await;
        rig::drop_database(&base.database.url, &base_db).await?;

        // 2. One process.
        let (url, db) = rig::fresh_database(&base.database.url, "scale").await?;
        let cfg = write_config(config_path, &dir, "scale", &cals, &emu_url, &emu.creds)?;
        let pool = bench_pool(&url).await?;
        let n = cals.len() as i64;
        let watch_before = requests(&http, &emu_url).await?.len();
        let t0 = Instant::now();
        let mut one = env.spawn("single", &cfg, &url).await?;
        forwarder.set_backends(vec![one.port]);
        let conns = Sampler::start(pool.clone());
        wait_live(&pool, n, Duration::from_secs(900)).await?;
        let live_secs = t0.elapsed().as_secs_f64();
        wait_idle(&pool, Duration::from_secs(600)).await?;
        let idle_secs = t0.elapsed().as_secs_f64();
        let log = requests(&http, &emu_url).await?;
        let pacing = pacing(log.get(watch_before..).unwrap_or_default());
        tokio::time::sleep(Duration::from_secs(3)).await;
        let idle_rss = one.rss_mb();
        let idle_conns = connections(&pool).await?;
        rows.push((
            format!("RSS idle, one process, {} calendars with channels", cals.len()),
            format!(
                "{idle_rss:.1} MB (one account, 3 calendars: {base_rss:.1} MB) → {:.1} MB per 1,000 calendars",
                (idle_rss - base_rss) / (cals.len() as f64 - 3.0) * 1000.0
            ),
        ));
        rows.push((
            "cold start → every channel live (every first sync done)".into(),
            format!(
                "{live_secs:.1} s ({idle_secs:.1} s); {pacing}"
            ),
        ));

        probes::notify_event_updates(&pool).await?;
        let last_etags: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let floor_idle = floor(&http, &emu_url, &pool, &cals, 200, None).await?;
        let lists_before = count(&http, &emu_url, "events.list").await?;
        let w1 = load(&http, &emu_url, &pool, &cals, sizes, None, last_etags.clone()).await?;
        let lists = count(&http, &emu_url, "events.list").await? - lists_before;
        rows.push((
            format!("push → database, {} changes at {}/s on distinct calendars (p50/p99/max)", w1.sent, sizes.rate),
            format!(
                "{:.1} / {:.1} / {:.1} ms, {} lost; floor idle p50/p99 {:.1} / {:.1} ms, under the load p50/p99/max {:.1} / {:.1} / {:.1} ms → p99 ratio {:.1}× idle floor, {:.1}× loaded floor",
                pct(&w1.delays, 50.0), pct(&w1.delays, 99.0), w1.delays.last().copied().unwrap_or(0.0), w1.lost,
                pct(&floor_idle, 50.0), pct(&floor_idle, 99.0), pct(&w1.floor, 50.0), pct(&w1.floor, 99.0),
                w1.floor.last().copied().unwrap_or(0.0),
                pct(&w1.delays, 99.0) / pct(&floor_idle, 99.0).max(0.001),
                pct(&w1.delays, 99.0) / pct(&w1.floor, 99.0).max(0.001),
            ),
        ));
        rows.push(("where the push delay goes (sync_runs)".into(), w1.split.clone()));
        rows.push((
            "events.list calls per push (that window, drained)".into(),
            format!("{:.3} ({lists} calls for {} pushes)", lists as f64 / w1.sent.max(1) as f64, w1.sent),
        ));
        let hammer = Hammer::new(&pool, one.port, sizes.pushes).await?;
        let w2 = load(&http, &emu_url, &pool, &cals, sizes, Some(hammer), last_etags.clone()).await?;
        if let Some(acks) = &w2.acks {
            rows.push((
                format!("webhook acks while {}/s calendars change, {} valid pushes, 64 connections", sizes.rate, sizes.pushes),
                acks.clone(),
            ));
            rows.push((
                "push → database under that hammering (p50/p99)".into(),
                format!("{:.1} / {:.1} ms, {} lost", pct(&w2.delays, 50.0), pct(&w2.delays, 99.0), w2.lost),
            ));
        }
        let peak_rss = one.rss_mb();
        let scrape = http
            .get(format!("http://127.0.0.1:{}/metrics", one.port))
            .send()
            .await?
            .text()
            .await?;
        let series = scrape.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count();
        rows.push((
            "GET /metrics after the load, one process".into(),
            format!("{series} series, {:.0} kB", scrape.len() as f64 / 1024.0),
        ));
        let peak_conns = conns.stop().await;
        rows.push((
            "PostgreSQL connections, one process (idle / peak)".into(),
            format!("{idle_conns} / {peak_conns} (database.max_connections {}); RSS after the load {peak_rss:.1} MB", base.database.max_connections),
        ));
        rows.push(renewals(&pool, base).await?);
        rows.push(safety_spread(&pool, base).await?);
        one.stop().await;

        // 3. Three replicas.
        let mut replicas = Vec::new();
        for i in 0..3 {
            replicas.push(env.spawn(&format!("replica{i}"), &cfg, &url).await?);
        }
        forwarder.set_backends(replicas.iter().map(|r| r.port).collect());
        let conns = Sampler::start(pool.clone());
        wait_idle(&pool, Duration::from_secs(300)).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let rss: Vec<String> = replicas.iter().map(|r| format!("{:.1}", r.rss_mb())).collect();
        let idle3 = connections(&pool).await?;
        let kill_at = Duration::from_secs(sizes.window_secs / 3);
        let lists_before = count(&http, &emu_url, "events.list").await?;
        let victim = replicas.remove(0);
        let w3 = load_with_kill(&http, &emu_url, &pool, &cals, sizes, victim, kill_at, last_etags.clone()).await?;
        let lists3 = count(&http, &emu_url, "events.list").await? - lists_before;
        let peak3 = conns.stop().await;
        rows.push((
            "three replicas: RSS idle each; connections idle / peak".into(),
            format!("{} MB; {idle3} / {peak3}", rss.join(", ")),
        ));
        rows.push((
            format!("three replicas, {} changes at {}/s, one SIGKILLed at {} s", w3.window.sent, sizes.rate, kill_at.as_secs()),
            format!(
                "{} lost; push → database p50/p99 {:.1} / {:.1} ms; changes made after the kill p50/p99/max {:.1} / {:.1} / {:.1} ms; \
                 {} changes in the killed replica's runs served by another replica, the last {:.1} s after the kill (lease {} s); \
                 {} pushes retried on another replica; {:.3} events.list per push",
                w3.window.lost, pct(&w3.window.delays, 50.0), pct(&w3.window.delays, 99.0),
                pct(&w3.after, 50.0), pct(&w3.after, 99.0), w3.after.last().copied().unwrap_or(0.0),
                w3.taken_over, w3.recovered_secs, calsync::sync::engine::LEASE.as_secs(), forwarder.skipped(), lists3 as f64 / w3.window.sent.max(1) as f64,
            ),
        ));
        // Nothing lost: every calendar's event holds Google's last etag.
        let stale = stale(&pool, &last_etags).await?;
        rows.push((
            "after the run: events whose stored etag is not Google's last".into(),
            format!("{stale} of {}", cals.len()),
        ));
        for mut r in replicas {
            r.stop().await;
        }
        probes::stop_notifying_event_updates(&pool).await?;
        pool.close().await;
        if std::env::var_os("CALSYNC_SCALE_KEEP_DB").is_none() {
            rig::drop_database(&base.database.url, &db).await?;
        }
        anyhow::Ok(())
    }
    .await;
    forwarder.stop();
    let creds = emu.creds.clone();
    // The emulator's child process is killed with it.
    drop(emu);
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&creds);
    } else {
        eprintln!("calsync-bench: scale logs kept in {}", dir.display());
    }
    result.map(|()| rows)
}
