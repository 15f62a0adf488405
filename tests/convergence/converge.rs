//! The bounded wait for convergence once faults are cleared: both sides must agree with each other and with
//! the model, in every account, confirmed 500 ms later; each account's own time to agree is kept.

use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::chaos::Timeline;
use crate::checks;
use crate::google::Google;
use crate::model::Model;
use crate::process::Calsync;
use crate::snapshot;
use crate::world::ACCOUNTS;

/// Longest wait for convergence once faults are cleared.
pub const CONVERGENCE_BOUND: Duration = Duration::from_secs(90);

/// How long convergence took: in all, and per account (since when it has had no problem).
pub struct Converged {
    pub took: Duration,
    pub per_account: [Duration; ACCOUNTS.len()],
}

impl Converged {
    /// "hopital 2.1 s, univ 13.0 s, labo 4.0 s".
    pub fn per_account(&self) -> String {
        ACCOUNTS
            .iter()
            .zip(self.per_account)
            .map(|(a, d)| format!("{} {:.1} s", a.name, d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Restarts the processes that exited on their own (noted in the timeline); returns how many.
pub async fn supervise(procs: &mut [Calsync], timeline: &mut Timeline) -> usize {
    let mut restarted = 0;
    for p in procs.iter_mut() {
        if let Some(why) = p.supervise().await {
            timeline.note(format_args!("{why}; restarted (pid {})", p.pid()));
            restarted += 1;
        }
    }
    restarted
}

/// Waits (bounded) until both sides agree with each other and with the model, confirmed 500 ms later.
pub async fn converge(
    model: &Model,
    google: &Google,
    pool: &PgPool,
    procs: &mut [Calsync],
    timeline: &mut Timeline,
    respawns: &mut usize,
) -> Result<Converged, Vec<String>> {
    let start = Instant::now();
    let mut agreed: Option<Duration> = None;
    // Per account: since when it has had no problem (None while it has some).
    let mut settled: [Option<Duration>; ACCOUNTS.len()] = [None; ACCOUNTS.len()];
    loop {
        *respawns += supervise(procs, timeline).await;
        let now = start.elapsed();
        let problems = match snapshot::snapshot(model, google, pool).await {
            Ok(snap) => {
                let v = checks::verdict(model, &snap);
                for (since, unsettled) in settled.iter_mut().zip(v.unsettled) {
                    *since = match (unsettled, *since) {
                        (true, _) => None,
                        (false, None) => Some(now),
                        (false, kept) => kept,
                    };
                }
                if v.stuck_on_parked {
                    return Err(v.problems);
                }
                v.problems
            }
            Err(e) => vec![format!("snapshot failed: {e}")],
        };
        if problems.is_empty() {
            if let Some(took) = agreed {
                return Ok(Converged {
                    took,
                    per_account: settled.map(Option::unwrap_or_default),
                });
            }
            agreed = Some(now);
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        agreed = None;
        if start.elapsed() > CONVERGENCE_BOUND {
            return Err(problems);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
