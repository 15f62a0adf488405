//! The replicas' window: the same load, one replica SIGKILLed while every replica has runs in
//! flight, and how its calendars were taken over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::PgPool;

use super::*;

/// Accounts whose calls the emulator holds for a while just before the kill, so that every replica
/// (the victim included) has runs in flight when the victim dies: changes on them are made one by
/// one until three lease owners hold runs (about one or two per replica, leaving each most of its
/// four worker slots), at most this many.
pub(super) const HELD_ACCOUNTS: usize = 9;

/// The replicas' window with `victim` SIGKILLed at `kill_at`.
pub(super) struct KillWindow {
    pub(super) window: Window,
    /// Delays of the changes made after the kill (sorted, ms).
    pub(super) after: Vec<f64>,
    /// How long after the kill the last change made before it (and not landed by then) landed.
    pub(super) recovered_secs: f64,
    /// Changes made before the kill that landed more than 5 s after it (the dead replica's runs).
    pub(super) taken_over: usize,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn load_with_kill(
    http: &reqwest::Client,
    emu: &str,
    pool: &PgPool,
    cals: &[Cal],
    sizes: ScaleSizes,
    mut victim: Server,
    kill_at: Duration,
    last: Arc<Mutex<HashMap<String, String>>>,
) -> anyhow::Result<KillWindow> {
    // Just before the kill: the last accounts' calls held 4 s at the emulator, and one change on
    // each, pushed round robin to the replicas: each replica's runs on them are in flight at the kill.
    let held: Vec<Cal> = cals
        .chunks(3)
        .rev()
        .take(HELD_ACCOUNTS)
        .filter_map(|c| c.first().cloned())
        .collect();
    let killer = {
        let (http, emu, last, pool) = (http.clone(), emu.to_string(), last.clone(), pool.clone());
        tokio::spawn(async move {
            tokio::time::sleep(kill_at.saturating_sub(Duration::from_secs(1))).await;
            let fault = |email: &str, body: Value| {
                http.post(format!("{emu}/emulator/users/{email}/faults"))
                    .json(&body)
                    .send()
            };
            for c in &held {
                fault(&c.email, json!({"latency_ms": 4000})).await?;
            }
            let mut sent = Vec::new();
            for (i, c) in held.iter().enumerate() {
                sent.push(change(&http, &emu, c, 1_000_000 + i, &last).await?);
                tokio::time::sleep(Duration::from_millis(50)).await;
                let owners: i64 = sqlx::query_scalar(
                    "SELECT count(DISTINCT lease_owner) FROM sync_state WHERE lease_until > now()",
                )
                .fetch_one(&pool)
                .await?;
                if owners >= 3 {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            victim.kill().await;
            let killed_at = Instant::now();
            for c in &held {
                fault(&c.email, json!({})).await?;
            }
            anyhow::Ok((killed_at, sent))
        })
    };
    // The load itself, with the kill signalled from the change loop.
    let (landed, stop, watcher) = watch_landed(pool).await?;
    let start = Instant::now();
    let end = start + Duration::from_secs(sizes.window_secs);
    let mut sent = changes(http, emu, cals, sizes, start, end, last).await?;
    let (killed_at, held) = killer.await??;
    sent.extend(held);
    drain(&sent, &landed, Duration::from_secs(90)).await;
    stop.cancel();
    let _ = watcher.await;
    let settled = settle(&sent, &landed.lock().unwrap_or_else(|p| p.into_inner()));
    let (mut delays, mut after, mut lost) = (Vec::new(), Vec::new(), 0);
    let (mut recovered, mut taken_over) = (0.0f64, 0);
    for (t0, at) in settled {
        match at {
            Some(at) => {
                let d = at.duration_since(t0).as_secs_f64() * 1000.0;
                delays.push(d);
                if t0 >= killed_at {
                    after.push(d);
                } else if at > killed_at {
                    let secs = at.duration_since(killed_at).as_secs_f64();
                    recovered = recovered.max(secs);
                    // Held accounts' runs end 4 s after they began; later than that, another
                    // replica took the calendar over once the dead one's lease lapsed.
                    if secs > 5.0 {
                        taken_over += 1;
                    }
                }
            }
            None => lost += 1,
        }
    }
    delays.sort_by(f64::total_cmp);
    after.sort_by(f64::total_cmp);
    idle_after(pool).await?;
    Ok(KillWindow {
        window: Window {
            sent: sent.len(),
            lost,
            delays,
            floor: Vec::new(),
            acks: None,
            split: String::new(),
        },
        after,
        recovered_secs: recovered,
        taken_over,
    })
}
