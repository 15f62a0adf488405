//! The measured phases: push-to-database delay next to its floor, webhook acknowledgements and burst
//! coalescing, full-sync throughput next to COPY, and the write path.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use serde_json::{Value, json};
use sqlx::postgres::PgListener;

use calsync::db::probes;
use calsync::push::token::ChannelTokens;
use calsync::sync::{Outcome, Trigger};

use crate::rig::{Rig, pct, rss_mb};
use crate::split::{Sent, breakdown};

type Rows = Vec<(String, String)>;

pub async fn wait<F, Fut>(what: &str, limit: Duration, mut ok: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !ok().await {
        if start.elapsed() > limit {
            return Err(anyhow!("timed out waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// Waits until no calendar is pending or leased (for the other phase modules).
pub async fn idle_pub(rig: &Rig) -> anyhow::Result<()> {
    idle(rig).await
}

async fn idle(rig: &Rig) -> anyhow::Result<()> {
    wait("idle calendars", Duration::from_secs(600), || async {
        probes::busy_calendars(&rig.pool)
            .await
            .map(|n| n == 0)
            .unwrap_or(false)
    })
    .await
}

pub async fn wait_channels(rig: &Rig) -> anyhow::Result<()> {
    wait(
        "a channel per calendar",
        Duration::from_secs(30),
        || async {
            probes::active_channels(&rig.pool)
                .await
                .map(|n| n >= 3)
                .unwrap_or(false)
        },
    )
    .await?;
    idle(rig).await
}

pub fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Push-to-database delay of single Google changes, and the floor: one emulator round trip + one single-row upsert.
pub async fn push_delay(rig: &Rig, n: usize) -> anyhow::Result<(Rows, f64)> {
    let ev = rig
        .post("/calendars/primary/events", json!({"summary": "bench", "start": {"dateTime": "2030-01-01T10:00:00Z"}, "end": {"dateTime": "2030-01-01T11:00:00Z"}}))
        .await?;
    let id = ev["id"]
        .as_str()
        .ok_or_else(|| anyhow!("seed failed"))?
        .to_string();
    let etag_of = || async { probes::etag_of(&rig.pool, "primary", &id).await };
    wait("the seed event", Duration::from_secs(30), || async {
        etag_of().await.as_deref() == ev["etag"].as_str()
    })
    .await?;
    // The row's commit is observed by a notification from a bench-only trigger, not by polling.
    probes::notify_event_updates(&rig.pool).await?;
    let mut listener = calsync::db::listen(&rig.pool, probes::EVENT_UPDATES).await?;
    let mut delays = Vec::with_capacity(n);
    let (mut sent, mut landed) = (Vec::with_capacity(n), HashMap::with_capacity(n));
    let path = format!("/calendars/primary/events/{id}");
    let since = chrono::Utc::now();
    for i in 0..n {
        idle(rig).await?;
        let (change, seen) = traced_change(rig, &mut listener, &path, i, "primary").await?;
        delays.push(ms(seen.duration_since(change.at)));
        landed.insert(change.etag.clone(), seen);
        sent.push(change);
    }
    let split = breakdown(&rig.pool, since, &sent, &landed).await?;
    drop(listener);
    probes::stop_notifying_event_updates(&rig.pool).await?;
    let mut floor = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let got: Value = rig
            .http
            .get(rig.control(&format!("/calendars/primary/events/{id}")))
            .send()
            .await?
            .json()
            .await?;
        probes::store_raw(&rig.pool, "primary", &id, &got).await?;
        floor.push(ms(t0.elapsed()));
    }
    let (d, f) = (sorted(delays), sorted(floor));
    let p50 = pct(&d, 50.0);
    Ok((
        vec![
            (
                format!("push → database delay, {n} changes (p50/p95/p99)"),
                format!(
                    "{:.1} / {:.1} / {:.1} ms",
                    pct(&d, 50.0),
                    pct(&d, 95.0),
                    pct(&d, 99.0)
                ),
            ),
            (
                "floor: emulator round trip + one-row upsert (p50/p99)".into(),
                format!(
                    "{:.1} / {:.1} ms → p99 ratio {:.1}×",
                    pct(&f, 50.0),
                    pct(&f, 99.0),
                    pct(&d, 99.0) / pct(&f, 99.0).max(0.001)
                ),
            ),
            ("where a change's time goes".into(), split),
        ],
        p50,
    ))
}

/// One user edit at Google through the control API (`path`: the event's route under `/emulator`,
/// a new `location` numbered `i`; the emulator pushes), timed until `listener` (on
/// [`probes::EVENT_UPDATES`]) sees the commit of the row with the edit's new etag: push → database.
pub async fn timed_change(
    rig: &Rig,
    listener: &mut PgListener,
    path: &str,
    i: usize,
) -> anyhow::Result<f64> {
    let (sent, seen) = traced_change(rig, listener, path, i, "").await?;
    Ok(ms(seen.duration_since(sent.at)))
}

/// [`timed_change`], returning the change as sent (for calendar `cal`) and when its commit was seen.
async fn traced_change(
    rig: &Rig,
    listener: &mut PgListener,
    path: &str,
    i: usize,
    cal: &str,
) -> anyhow::Result<(Sent, Instant)> {
    while listener.next_buffered().is_some() {}
    let (t0, wall) = (Instant::now(), chrono::Utc::now());
    let changed: Value = rig
        .http
        .patch(rig.control(path))
        .json(&json!({"location": format!("Room {i}")}))
        .send()
        .await?
        .json()
        .await?;
    let want = changed["etag"]
        .as_str()
        .ok_or_else(|| anyhow!("the edit of {path} answered no etag: {changed}"))?
        .to_string();
    loop {
        let note = tokio::time::timeout(Duration::from_secs(30), listener.recv())
            .await
            .context("a pushed change did not arrive within 30 s")??;
        if note.payload() == want {
            let sent = Sent {
                at: t0,
                wall,
                etag: want,
                cal: cal.to_string(),
            };
            return Ok((sent, Instant::now()));
        }
    }
}

/// Webhook acknowledgements under load, then list calls for one burst.
pub async fn webhook(rig: &Rig, total: usize, burst: usize) -> anyhow::Result<Rows> {
    let (channel, resource) = probes::active_channel(&rig.pool, "primary")
        .await
        .context("no channel")?;
    let token =
        ChannelTokens::new("bench-channel-secret-0123456789abcdef").sign(&channel, "primary");
    let addr = rig.app_url.trim_start_matches("http://").to_string();
    let request = Arc::new(crate::load::push_request(
        &addr, &channel, &resource, &token,
    ));
    idle(rig).await?;
    // Warm-up: connections, caches, the first plans.
    crate::load::hammer(&addr, request.clone(), 2_000, 64).await;
    idle(rig).await?;
    let t0 = Instant::now();
    let outcome = crate::load::hammer(&addr, request.clone(), total, 64).await;
    let secs = t0.elapsed().as_secs_f64();
    let lat = sorted(outcome.latencies);
    let (rss, _) = rss_mb();
    idle(rig).await?;
    let before = rig.count("events.list").await?;
    crate::load::hammer(&addr, request, burst, 64).await;
    idle(rig).await?;
    let calls = rig.count("events.list").await? - before;
    Ok(vec![
        (
            format!("webhook acks, {total} valid pushes, 64 connections"),
            format!(
                "{:.0}/s, p50 {:.2} ms, p99 {:.2} ms ({} ok, {} failed)",
                lat.len() as f64 / secs,
                pct(&lat, 50.0),
                pct(&lat, 99.0),
                lat.len(),
                outcome.failed
            ),
        ),
        ("RSS under webhook load".into(), format!("{rss:.1} MB")),
        (
            format!("events.list calls for a burst of {burst} pushes"),
            format!("{calls}"),
        ),
    ])
}

/// A full sync of `n` events (2,500 per page) next to a plain COPY of the same rows into the same table.
pub async fn full_sync(rig: &Rig, n: usize) -> anyhow::Result<Rows> {
    let cal = "CALENDAR_ID_CHERCHEUR";
    rig.post(&format!("/calendars/{cal}/bulk"), json!({"count": n}))
        .await?;
    idle(rig).await?;
    let drop_rows = || async { probes::forget_calendar_rows(&rig.pool, cal).await };
    // A late push may still start a worker run: wait it out, then time our own full listing.
    let (report, secs) = loop {
        idle(rig).await?;
        drop_rows().await?;
        let t0 = Instant::now();
        match rig.syncer.sync_calendar(cal, Trigger::Manual, true).await? {
            Outcome::Done(r) => break (r, t0.elapsed().as_secs_f64()),
            Outcome::Busy => continue,
            other => return Err(anyhow!("full sync did not complete: {other:?}")),
        }
    };
    let (rss, _) = rss_mb();
    let sync_rate = report.counts.created as f64 / secs;

    let columns = "calendar_id, casquette, external_id, status, summary, location, start_at, end_at, etag, google_updated, sequence, raw";
    let dump = probes::copy_out(&rig.pool, columns, cal).await?;
    drop_rows().await?;
    let t0 = Instant::now();
    let copied = probes::copy_in(&rig.pool, columns, dump).await?;
    let copy_rate = copied as f64 / t0.elapsed().as_secs_f64();
    Ok(vec![
        (
            format!("full sync, {n} events ({} pages)", report.pages),
            format!("{sync_rate:.0} events/s ({secs:.1} s), RSS {rss:.1} MB"),
        ),
        (
            "COPY of the same rows into the same table".into(),
            format!(
                "{copy_rate:.0} rows/s → sync/COPY {:.2}",
                sync_rate / copy_rate
            ),
        ),
    ])
}

/// `n` local inserts (one SQL statement) until every one exists at Google.
pub async fn writes(rig: &Rig, n: usize) -> anyhow::Result<Rows> {
    idle(rig).await?;
    let t0 = Instant::now();
    probes::insert_local_batch(&rig.pool, "CALENDAR_ID_ENSEIGNANT", n as i32).await?;
    wait("the outbox to drain", Duration::from_secs(1800), || async {
        probes::outbox_depth(&rig.pool)
            .await
            .map(|c| c == 0)
            .unwrap_or(false)
    })
    .await?;
    let secs = t0.elapsed().as_secs_f64();
    let (rss, _) = rss_mb();
    Ok(vec![(
        format!("write path, {n} local inserts reaching Google"),
        format!(
            "{:.0} events/s ({secs:.1} s), RSS {rss:.1} MB",
            n as f64 / secs
        ),
    )])
}
