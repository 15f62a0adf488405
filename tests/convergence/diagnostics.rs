//! What a failed seed prints about calsync's state: per-calendar sync state, paused accounts, leases still
//! held (with who most likely left them) and conflicts; what was calsync waiting for?

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// calsync's lease lengths (src/sync/engine.rs `LEASE`, src/writer/mod.rs `LEASE`): a lease's claim time is
/// its `lease_until` minus these.
const SYNC_LEASE_SECS: i64 = 15;
const OUTBOX_LEASE_SECS: i64 = 15;

/// When the chaos happened, to tell who held a lease that is still there.
pub struct Chaos {
    pub kill: Option<DateTime<Utc>>,
    pub pg_restart: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Chaos {
    fn blame(&self, claimed: DateTime<Utc>) -> String {
        if let Some(k) = self.kill
            && claimed < k
        {
            return format!(
                " <- taken before the SIGKILL at {}: the killed process can never release it",
                k.format("%H:%M:%S%.3f")
            );
        }
        if let Some((from, to)) = self.pg_restart
            && claimed < to
        {
            return format!(
                " <- taken before the PostgreSQL restart ({}..{}): left behind when the restart cut its work",
                from.format("%H:%M:%S%.3f"),
                to.format("%H:%M:%S%.3f")
            );
        }
        String::new()
    }
}

fn t(d: Option<DateTime<Utc>>) -> String {
    d.map_or("-".to_string(), |d| d.format("%H:%M:%S%.3f").to_string())
}

/// Per-calendar sync state, paused accounts, leases still held and conflicts, printed with a failure.
pub async fn diagnostics(pool: &PgPool, chaos: &Chaos) -> Vec<String> {
    type SyncRow = (
        String,
        bool,
        Option<DateTime<Utc>>,
        i32,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<String>,
    );
    let mut out = Vec::new();
    let rows: Result<Vec<SyncRow>, _> = sqlx::query_as(
        "SELECT calendar_id, pending, lease_until, consecutive_failures, retry_at, last_success_at, error_reason
           FROM sync_state ORDER BY calendar_id",
    )
    .fetch_all(pool)
    .await;
    match rows {
        Ok(rows) => {
            for (cal, pending, lease, failures, retry, success, error) in rows {
                let held = match lease {
                    Some(until) if until > Utc::now() => {
                        let claimed = until - chrono::Duration::seconds(SYNC_LEASE_SECS);
                        format!(
                            "LEASE HELD since {} until {}{}",
                            t(Some(claimed)),
                            t(Some(until)),
                            chaos.blame(claimed)
                        )
                    }
                    _ => "no lease".to_string(),
                };
                out.push(format!(
                    "sync {cal}: pending {pending}, {held}, failures {failures}, retry at {}, last success {}, error {}",
                    t(retry),
                    t(success),
                    error.as_deref().unwrap_or("-")
                ));
            }
        }
        Err(e) => out.push(format!("sync_state not readable: {e}")),
    }
    type AccountRow = (String, Option<String>, Option<DateTime<Utc>>);
    let accounts: Result<Vec<AccountRow>, _> = sqlx::query_as(
        "SELECT account, paused_reason, paused_at FROM account_state ORDER BY account",
    )
    .fetch_all(pool)
    .await;
    for (account, reason, at) in accounts.unwrap_or_default() {
        out.push(match reason {
            Some(r) => format!("account {account}: PAUSED since {} ({r})", t(at)),
            None => format!("account {account}: not paused"),
        });
    }
    let leased: Result<Vec<(Uuid, DateTime<Utc>)>, _> = sqlx::query_as(
        "SELECT event_id, lease_until FROM outbox WHERE lease_until > now() ORDER BY lease_until",
    )
    .fetch_all(pool)
    .await;
    for (event, until) in leased.unwrap_or_default() {
        let claimed = until - chrono::Duration::seconds(OUTBOX_LEASE_SECS);
        out.push(format!(
            "outbox {event}: LEASE HELD since {} until {}{}",
            t(Some(claimed)),
            t(Some(until)),
            chaos.blame(claimed)
        ));
    }
    let conflicts: Result<(i64, i64), _> = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE winner = 'local'), count(*) FILTER (WHERE winner = 'google') FROM conflicts",
    )
    .fetch_one(pool)
    .await;
    if let Ok((l, g)) = conflicts {
        out.push(format!(
            "conflicts settled: {l} won by local, {g} won by Google"
        ));
    }
    out.push(format!("now {}", t(Some(Utc::now()))));
    out
}
