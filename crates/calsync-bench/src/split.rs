//! Where a pushed change's time goes: the change at Google, the webhook's mark, the claim, the data
//! commit and the bench's sight of it, split from `sync_runs` (the main rig's push phase and the
//! scale run's window both report it).

use std::collections::HashMap;
use std::time::Instant;

use sqlx::PgPool;

use crate::rig::pct;

/// One change sent to Google.
pub struct Sent {
    pub at: Instant,
    /// `at` on the wall clock (PostgreSQL's `now()` runs on the same host).
    pub wall: chrono::DateTime<chrono::Utc>,
    pub etag: String,
    /// calsync's calendar id.
    pub cal: String,
}

/// Where each change's time went, p50/p99 (ms): change at Google → the webhook's mark committed
/// (`pending_since`: the emulator's push, the forwarder, the webhook), mark → claim (`started_at`:
/// the wake and the claim), claim → commit (`finished_at`: `events.list` and the data commit),
/// commit → seen by the bench's listener; from `sync_runs` (push runs since `since`), each change
/// matched to its calendar's first run marked after it.
pub async fn breakdown(
    pool: &PgPool,
    since: chrono::DateTime<chrono::Utc>,
    sent: &[Sent],
    landed: &HashMap<String, Instant>,
) -> anyhow::Result<String> {
    type Ts = chrono::DateTime<chrono::Utc>;
    let rows: Vec<(String, Ts, Ts, Ts)> = sqlx::query_as(
        "SELECT calendar_id, pending_since, started_at, finished_at FROM sync_runs
          WHERE trigger = 'push' AND pending_since IS NOT NULL AND finished_at IS NOT NULL
            AND started_at >= $1
          ORDER BY pending_since",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    let mut runs: HashMap<&str, Vec<(Ts, Ts, Ts)>> = HashMap::new();
    for (cal, p, s, f) in &rows {
        runs.entry(cal).or_default().push((*p, *s, *f));
    }
    let ms = |d: chrono::TimeDelta| d.num_microseconds().unwrap_or(0) as f64 / 1000.0;
    let mut parts: [Vec<f64>; 4] = Default::default();
    for c in sent {
        let (Some(list), Some(seen)) = (runs.get(c.cal.as_str()), landed.get(&c.etag)) else {
            continue;
        };
        let Some((p, s, f)) = list.iter().find(|r| r.0 >= c.wall) else {
            continue;
        };
        let seen_wall =
            c.wall + chrono::TimeDelta::from_std(seen.duration_since(c.at)).unwrap_or_default();
        parts[0].push(ms(*p - c.wall));
        parts[1].push(ms(*s - *p));
        parts[2].push(ms(*f - *s));
        parts[3].push(ms(seen_wall - *f));
    }
    for p in &mut parts {
        p.sort_by(f64::total_cmp);
    }
    let show = |v: &[f64]| format!("{:.1} / {:.1}", pct(v, 50.0), pct(v, 99.0));
    Ok(format!(
        "{} changes matched: change → mark {}, mark → claim {}, claim → commit {}, commit → seen {} ms (p50 / p99)",
        parts[0].len(),
        show(&parts[0]),
        show(&parts[1]),
        show(&parts[2]),
        show(&parts[3]),
    ))
}
