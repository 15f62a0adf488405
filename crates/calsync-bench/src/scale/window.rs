//! A load window: changes at Google on distinct calendars at a steady rate, each one's commit seen
//! by the bench's NOTIFY trigger, the floor sampled meanwhile, optionally a hammer at the webhook.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::PgPool;

use calsync::db::probes;
use calsync::push::token::ChannelTokens;

use crate::rig::pct;

use super::*;

/// Valid pushes for 100 channels, sent to one calsync process's webhook.
pub(super) struct Hammer {
    pub(super) addr: String,
    pub(super) requests: Vec<Arc<Vec<u8>>>,
    pub(super) total: usize,
}

impl Hammer {
    pub(super) async fn new(pool: &PgPool, port: u16, total: usize) -> anyhow::Result<Self> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT id, calendar_id, resource_id FROM watch_channels WHERE state = 'active'
              ORDER BY calendar_id LIMIT 100",
        )
        .fetch_all(pool)
        .await?;
        let tokens = ChannelTokens::new(CHANNEL_SECRET);
        let addr = format!("127.0.0.1:{port}");
        let requests = rows
            .iter()
            .map(|(id, cal, resource)| {
                Arc::new(crate::load::push_request(
                    &addr,
                    id,
                    resource,
                    &tokens.sign(id, cal),
                ))
            })
            .collect();
        Ok(Self {
            addr,
            requests,
            total,
        })
    }
}

/// One load window's outcome.
pub(super) struct Window {
    pub(super) sent: usize,
    pub(super) lost: usize,
    /// Sorted push → database delays, ms.
    pub(super) delays: Vec<f64>,
    pub(super) floor: Vec<f64>,
    pub(super) acks: Option<String>,
    /// Where a push's time went, from `sync_runs`.
    pub(super) split: String,
}

/// `rate` changes a second on distinct calendars (in turn) for the window; each change's commit seen
/// by the bench's NOTIFY trigger; the floor sampled meanwhile; a hammer at the webhook if given.
pub(super) async fn load(
    http: &reqwest::Client,
    emu: &str,
    pool: &PgPool,
    cals: &[Cal],
    sizes: ScaleSizes,
    hammer: Option<Hammer>,
    last: Arc<Mutex<HashMap<String, String>>>,
) -> anyhow::Result<Window> {
    let (landed, stop, watcher) = watch_landed(pool).await?;
    let db_start: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT now()").fetch_one(pool).await?;
    let start = Instant::now();
    let end = start + Duration::from_secs(sizes.window_secs);
    let floor_task = {
        let (http, emu, pool, cals) = (http.clone(), emu.to_string(), pool.clone(), cals.to_vec());
        tokio::spawn(async move { floor(&http, &emu, &pool, &cals, 0, Some(end)).await })
    };
    let hammer_task = hammer.map(|h| {
        tokio::spawn(async move {
            let t0 = Instant::now();
            let out = hammer_many(&h).await;
            (out, t0.elapsed().as_secs_f64())
        })
    });
    let sent = changes(http, emu, cals, sizes, start, end, last.clone()).await;
    let acks = match hammer_task {
        Some(t) => {
            let (out, secs) = t.await?;
            let mut lat = out.latencies;
            lat.sort_by(f64::total_cmp);
            Some(format!(
                "{:.0}/s, p50 {:.2} ms, p99 {:.2} ms ({} ok, {} failed)",
                lat.len() as f64 / secs,
                pct(&lat, 50.0),
                pct(&lat, 99.0),
                lat.len(),
                out.failed
            ))
        }
        None => None,
    };
    let floor = floor_task.await??;
    let sent = sent?;
    // Drain: every change landed, or 60 s.
    drain(&sent, &landed, Duration::from_secs(60)).await;
    stop.cancel();
    let _ = watcher.await;
    let landed = landed.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let settled = settle(&sent, &landed);
    let mut delays = Vec::new();
    let mut lost = 0;
    for (t0, at) in settled {
        match at {
            Some(at) => delays.push(at.duration_since(t0).as_secs_f64() * 1000.0),
            None => lost += 1,
        }
    }
    delays.sort_by(f64::total_cmp);
    idle_after(pool).await?;
    let split = breakdown(pool, db_start, &sent, &landed).await?;
    Ok(Window {
        sent: sent.len(),
        lost,
        delays,
        floor,
        acks,
        split,
    })
}

pub(super) async fn idle_after(pool: &PgPool) -> anyhow::Result<()> {
    wait_idle(pool, Duration::from_secs(120)).await
}

pub(super) async fn hammer_many(h: &Hammer) -> crate::load::Outcome {
    // Each connection sends one channel's push; 64 connections over the 100 channels.
    let per = h.total / 64;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (addr, req) = (h.addr.clone(), h.requests[i % h.requests.len()].clone());
        tasks.push(tokio::spawn(async move {
            crate::load::hammer(&addr, req, per, 1).await
        }));
    }
    let mut all = crate::load::Outcome {
        latencies: Vec::new(),
        failed: 0,
    };
    for t in tasks {
        if let Ok(o) = t.await {
            all.latencies.extend(o.latencies);
            all.failed += o.failed;
        }
    }
    all
}

/// Sends the changes: `rate` a second, calendars in turn; (sent at, new etag) of each.
#[allow(clippy::too_many_arguments)]
pub(super) async fn changes(
    http: &reqwest::Client,
    emu: &str,
    cals: &[Cal],
    sizes: ScaleSizes,
    start: Instant,
    end: Instant,
    last: Arc<Mutex<HashMap<String, String>>>,
) -> anyhow::Result<Vec<Sent>> {
    let every = Duration::from_secs_f64(1.0 / f64::from(sizes.rate));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::from_std(start), every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    let mut i = 0usize;
    while Instant::now() < end {
        tick.tick().await;
        let c = cals[(i * 7) % cals.len()].clone();
        i += 1;
        let (http, emu, last) = (http.clone(), emu.to_string(), last.clone());
        tasks.spawn(async move { change(&http, &emu, &c, i, &last).await });
    }
    let mut out = Vec::new();
    while let Some(r) = tasks.join_next().await {
        out.push(r??);
    }
    Ok(out)
}

/// One change at Google (the event's location); (sent at, new etag).
pub(super) async fn change(
    http: &reqwest::Client,
    emu: &str,
    c: &Cal,
    i: usize,
    last: &Mutex<HashMap<String, String>>,
) -> anyhow::Result<Sent> {
    let (t0, wall) = (Instant::now(), chrono::Utc::now());
    let v: Value = http
        .patch(format!(
            "{emu}/emulator/users/{}/calendars/{}/events/{}",
            c.email, c.google_id, c.event
        ))
        .json(&json!({"location": format!("Room {i}")}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let etag = v["etag"].as_str().unwrap_or_default().to_string();
    last.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(c.key.clone(), etag.clone());
    Ok(Sent {
        at: t0,
        wall,
        etag,
        cal: c.key.clone(),
    })
}

/// When each change reached the database: when its etag was stored, or a later change's on the same
/// calendar (a run that fetched both stores only the later version); None: neither.
pub(super) fn settle(
    sent: &[Sent],
    landed: &HashMap<String, Instant>,
) -> Vec<(Instant, Option<Instant>)> {
    let mut by_cal: HashMap<&str, Vec<&Sent>> = HashMap::new();
    for c in sent {
        by_cal.entry(&c.cal).or_default().push(c);
    }
    let mut out = Vec::with_capacity(sent.len());
    for (_, mut changes) in by_cal {
        changes.sort_by_key(|c| c.at);
        let mut seen: Option<Instant> = None;
        for c in changes.iter().rev() {
            if let Some(at) = landed.get(&c.etag) {
                seen = Some(seen.map_or(*at, |s| s.min(*at)));
            }
            out.push((c.at, seen));
        }
    }
    out
}

/// Waits until every change in `sent` has landed (see [`settle`]), or `limit`.
pub(super) async fn drain(sent: &[Sent], landed: &Landed, limit: Duration) {
    let start = Instant::now();
    loop {
        let missing = {
            let l = landed.lock().unwrap_or_else(|p| p.into_inner());
            settle(sent, &l)
                .iter()
                .filter(|(_, at)| at.is_none())
                .count()
        };
        if missing == 0 || start.elapsed() > limit {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// When each event's change landed (the first `NOTIFY` of its id on `probes::EVENT_UPDATES`): the
/// map, the token that ends the watch, and the watching task.
pub(super) type Landed = Arc<Mutex<HashMap<String, Instant>>>;

pub(super) async fn watch_landed(
    pool: &PgPool,
) -> anyhow::Result<(
    Landed,
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<()>,
)> {
    let mut listener = calsync::db::listen(pool, probes::EVENT_UPDATES).await?;
    let landed: Landed = Arc::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let watcher = {
        let (landed, stop) = (landed.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    n = listener.recv() => match n {
                        Ok(n) => {
                            let now = Instant::now();
                            landed.lock().unwrap_or_else(|p| p.into_inner())
                                .entry(n.payload().to_string()).or_insert(now);
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
            }
        })
    };
    Ok((landed, stop, watcher))
}
