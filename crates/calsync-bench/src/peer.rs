//! The peer, side by side: the original daemon's approach (this crate's `peer/`: Python,
//! google-api-python-client, asyncpg, a 30-minute poll, row-by-row upserts) against the same emulator
//! and database, with ratios.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use serde_json::{Value, json};

use calsync::sync::{Outcome, Trigger};

use crate::rig::{Rig, pct};

type Rows = Vec<(String, String)>;

/// Where the peer's launcher lives: `$CALSYNC_PEER`, else `crates/calsync-bench/peer/run.sh` from the
/// working directory (the checkout's root).
fn launcher() -> Option<PathBuf> {
    let p = std::env::var_os("CALSYNC_PEER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(PEER));
    p.exists().then_some(p)
}

const PEER: &str = "crates/calsync-bench/peer/run.sh";

/// Runs the peer; returns its JSON result with `max_rss_kb` replaced by the high-water mark read
/// from /proc while it ran (getrusage in a child of this process reports the parent's footprint).
async fn peer(launcher: &Path, args: &[String], limit: Duration) -> anyhow::Result<Value> {
    use tokio::io::AsyncReadExt;
    let mut child = tokio::process::Command::new(launcher)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting the peer")?;
    let pid = child.id();
    let mut stdout = child.stdout.take().context("peer stdout")?;
    let reader = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text).await;
        text
    });
    let hwm_kb = |pid: Option<u32>| -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let started = Instant::now();
    let mut peak_kb: f64 = 0.0;
    loop {
        if let Some(kb) = hwm_kb(pid) {
            peak_kb = peak_kb.max(kb);
        }
        if child.try_wait()?.is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill().await;
            return Err(anyhow!(
                "the peer did not finish within {} s",
                limit.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = reader.await.unwrap_or_default();
    let last = text.lines().last().unwrap_or_default();
    let mut v: Value = serde_json::from_str(last)
        .with_context(|| format!("the peer printed no JSON result: {last:?}"))?;
    v["max_rss_kb"] = json!(peak_kb);
    Ok(v)
}

/// Full sync of the same `n` events by calsync and by the peer; the peer's change-to-database
/// delay under a (compressed) poll; idle calls per day; RSS.
pub async fn compare(
    rig: &Rig,
    n: usize,
    calsync_idle_rss: f64,
    push_p50: f64,
) -> anyhow::Result<Rows> {
    let Some(launcher) = launcher() else {
        return Ok(vec![(
            "peer (crates/calsync-bench/peer)".into(),
            format!("not run: {PEER} not found (run the bench from the checkout's root)"),
        )]);
    };
    let cal = "CALENDAR_ID_ENSEIGNANT";
    rig.post(&format!("/calendars/{cal}/bulk"), json!({"count": n}))
        .await?;
    crate::phases::idle_pub(rig).await?;
    // calsync: a full listing of the same calendar, timed like the peer's.
    let t0 = Instant::now();
    let (created, secs) = loop {
        match rig.syncer.sync_calendar(cal, Trigger::Manual, true).await? {
            Outcome::Done(r) => {
                break (
                    r.counts.created + r.counts.updated + r.counts.unchanged,
                    t0.elapsed().as_secs_f64(),
                );
            }
            Outcome::Busy => crate::phases::idle_pub(rig).await?,
            other => return Err(anyhow!("full sync did not complete: {other:?}")),
        }
    };
    let calsync_rate = created as f64 / secs;
    let common = |cmd: &str| -> Vec<String> {
        vec![
            cmd.into(),
            "--emulator".into(),
            rig.emulator_url.clone(),
            "--credentials".into(),
            rig.creds.display().to_string(),
            "--dsn".into(),
            rig.settings.database.url.clone(),
        ]
    };
    let mut args = common("full-sync");
    args.extend(["--calendar".into(), cal.into()]);
    let full = peer(&launcher, &args, Duration::from_secs(1800)).await?;
    let peer_rate = full["events_per_sec"].as_f64().unwrap_or(0.0);
    let peer_rss = full["max_rss_kb"].as_f64().unwrap_or(0.0) / 1024.0;

    // Change-to-database delay: the peer polls a small calendar every 2 s (its real interval is
    // 30 min; the delay scales with it) while changes land at random moments.
    let small = "primary";
    let mut args = common("poll");
    args.extend([
        "--calendar".into(),
        small.into(),
        "--interval".into(),
        "2".into(),
        "--duration".into(),
        "14".into(),
    ]);
    let poller = tokio::spawn({
        let launcher = launcher.clone();
        async move { peer(&launcher, &args, Duration::from_secs(120)).await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in 0..8u64 {
        rig.post(
            &format!("/calendars/{small}/events"),
            json!({"summary": format!("peer change {i}"),
                   "start": {"dateTime": "2030-03-01T10:00:00Z"}, "end": {"dateTime": "2030-03-01T11:00:00Z"}}),
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(700 + (i * 373) % 900)).await;
    }
    let polled = poller.await.map_err(|e| anyhow!("peer task: {e}"))??;
    let mut delays: Vec<f64> = polled["delays_ms"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    delays.sort_by(f64::total_cmp);
    let (p50, p99) = (pct(&delays, 50.0), pct(&delays, 99.0));
    let interval_min = rig.settings.google_calendar.sync_interval_minutes as f64;
    Ok(vec![
        (
            format!("peer full sync, {n} events (row-by-row upserts)"),
            format!(
                "{peer_rate:.0} events/s; calsync on the same calendar {calsync_rate:.0} events/s → calsync/peer {:.1}×",
                calsync_rate / peer_rate.max(0.001)
            ),
        ),
        (
            "peer change → database delay, 2 s poll (p50/p99)".into(),
            format!(
                "{p50:.0} / {p99:.0} ms over {} changes; at its {interval_min:.0}-min poll ≈ {:.0} / {:.0} min → calsync push p50 {push_p50:.1} ms is {:.0}× faster",
                delays.len(),
                interval_min / 2.0,
                interval_min * 0.99,
                interval_min * 30_000.0 / push_p50.max(0.001)
            ),
        ),
        (
            "peer RSS (max)".into(),
            format!(
                "{peer_rss:.1} MB; calsync idle {calsync_idle_rss:.1} MB → calsync/peer {:.2}",
                calsync_idle_rss / peer_rss.max(0.001)
            ),
        ),
    ])
}
