//! Faults of one account, drawn per seed: a revocation window (the user removes calsync's access; ops go
//! on; the user consents again and an explicit sync, `POST /api/v1/calendar/sync {"account"}` with an
//! account-scoped token, lifts the account's pause) and, on another account, a quota exhaustion (the
//! user's `quota_per_minute`, or 429s on most of its requests) for a while, then cleared.

use std::time::{Duration, Instant};

use calsync_testkit::poll;
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::chaos::{Timeline, skipped};
use crate::google::Google;
use crate::process::ADMIN_SECRET;
use crate::world::ACCOUNTS;

/// How long the pause of a revoked account may take to show: calsync meets the refusal at its next
/// sync run of the account (a push, the 2 s safety sync), which a killed process's 15 s lease or a
/// failed run's backoff may hold back. A hold masking the refusal (fixed) kept it a minute.
const PAUSE_BOUND: Duration = Duration::from_secs(30);
/// How long the explicit sync may take to be answered (retries included).
const SYNC_BOUND: Duration = Duration::from_secs(90);
/// Shortest quota exhaustion: ops run faster than calsync's 2 s safety sync, so a window of ops alone
/// may end before calsync has asked anything of the account.
const QUOTA_AT_LEAST: Duration = Duration::from_secs(2);

/// Ops `from..to` of one account.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub account: usize,
    pub from: usize,
    pub to: usize,
}

/// A seed's account faults: drawn up front, applied op by op.
pub struct AccountFaults {
    revoke: Option<Window>,
    quota: Option<(Window, Value)>,
    quota_since: Option<Instant>,
    paused_after: Option<Result<Duration, ()>>,
    sync: Option<JoinHandle<Result<String, String>>>,
    sync_outcome: Option<Result<String, String>>,
}

fn window(rng: &mut StdRng, account: usize, ops: usize) -> Window {
    let from = rng.random_range(2..ops / 2);
    let len = rng.random_range(ops / 4..=ops / 2);
    Window {
        account,
        from,
        to: (from + len).min(ops - 2),
    }
}

impl AccountFaults {
    /// Two different accounts: one revoked for a while, one out of quota for a while
    /// (`CONVERGENCE_SKIP=revoke,quota` leaves either out).
    pub fn draw(rng: &mut StdRng, ops: usize) -> Self {
        let revoked = rng.random_range(0..ACCOUNTS.len());
        let limited = (revoked + rng.random_range(1..ACCOUNTS.len())) % ACCOUNTS.len();
        let revoke = window(rng, revoked, ops);
        let quota = window(rng, limited, ops);
        let faults = if rng.random_bool(0.5) {
            json!({"seed": rng.random::<u32>(), "quota_per_minute": rng.random_range(0..=2)})
        } else {
            json!({"seed": rng.random::<u32>(), "rate_429": rng.random_range(0.6..1.0),
                   "retry_after_secs": rng.random_range(0..=1)})
        };
        Self {
            revoke: (!skipped("revoke")).then_some(revoke),
            quota: (!skipped("quota")).then_some((quota, faults)),
            quota_since: None,
            paused_after: None,
            sync: None,
            sync_outcome: None,
        }
    }

    /// What op `n` brings: a revocation, or a consent again (once the pause shows) and the explicit sync
    /// sent to one of `ports` (in the background: ops go on); a quota exhausted or restored.
    pub async fn at(
        &mut self,
        n: usize,
        google: &Google,
        pool: &PgPool,
        ports: &[u16],
        timeline: &mut Timeline,
    ) {
        if let Some(w) = self.revoke {
            let a = &ACCOUNTS[w.account];
            if n == w.from {
                google.revoke(a).await;
                timeline.note(format_args!(
                    "op #{n}: {} revoked calsync's access",
                    a.email
                ));
            }
            if n == w.to {
                let start = Instant::now();
                let paused = poll(PAUSE_BOUND, Duration::from_millis(100), || async {
                    paused(pool, a.name).await
                })
                .await;
                self.paused_after = Some(if paused { Ok(start.elapsed()) } else { Err(()) });
                timeline.note(format_args!(
                    "op #{n}: account {} {}",
                    a.name,
                    if paused { "paused" } else { "NOT paused" }
                ));
                google.restore(a).await;
                timeline.note(format_args!("op #{n}: {} consented again", a.email));
                self.sync = Some(tokio::spawn(explicit_sync(a.name, ports.to_vec())));
            }
        }
        if let Some((w, faults)) = &self.quota {
            let a = &ACCOUNTS[w.account];
            if n == w.from {
                google.set_user_faults(a, faults.clone()).await;
                self.quota_since = Some(Instant::now());
                timeline.note(format_args!("op #{n}: {} out of quota: {faults}", a.email));
            }
            if n == w.to {
                let held = self.quota_since.map_or(QUOTA_AT_LEAST, |t| t.elapsed());
                tokio::time::sleep(QUOTA_AT_LEAST.saturating_sub(held)).await;
                google.set_user_faults(a, json!({})).await;
                timeline.note(format_args!("op #{n}: {} quota back", a.email));
            }
        }
    }

    /// Waits for the explicit sync's answer; `Err` (an anomaly) when the revoked account was never
    /// paused, or no answer showed its pause lifted.
    pub async fn settle(&mut self, timeline: &mut Timeline) -> Result<(), String> {
        let Some(task) = self.sync.take() else {
            return Ok(());
        };
        let outcome = task
            .await
            .unwrap_or_else(|e| Err(format!("explicit sync task: {e}")));
        timeline.note(format_args!("explicit sync: {outcome:?}"));
        self.sync_outcome = Some(outcome.clone());
        if let (Some(w), Some(Err(()))) = (self.revoke, self.paused_after) {
            return Err(format!(
                "account {} not paused within {} s of its revocation",
                ACCOUNTS[w.account].name,
                PAUSE_BOUND.as_secs()
            ));
        }
        outcome.map(|_| ())
    }

    /// For the seed's line: "revoked univ #8..#19 (paused in 1.2 s, sync: 200 after 1 try), quota labo
    /// #5..#14 {quota_per_minute 3} (403×12)".
    pub async fn summary(&self, google: &Google) -> String {
        let mut parts = Vec::new();
        if let Some(w) = self.revoke {
            let paused = match self.paused_after {
                Some(Ok(d)) => format!("paused in {:.1} s", d.as_secs_f64()),
                Some(Err(())) => format!("NOT paused within {} s", PAUSE_BOUND.as_secs()),
                None => "not reached".into(),
            };
            let sync = match &self.sync_outcome {
                Some(Ok(s)) => s.clone(),
                Some(Err(e)) => format!("FAILED: {e}"),
                None => "-".into(),
            };
            parts.push(format!(
                "revoked {} #{}..#{} ({paused}, sync: {sync})",
                ACCOUNTS[w.account].name, w.from, w.to
            ));
        }
        if let Some((w, faults)) = &self.quota {
            let a = &ACCOUNTS[w.account];
            let what = if faults.get("quota_per_minute").is_some() {
                format!("quota_per_minute {}", faults["quota_per_minute"])
            } else {
                format!("rate_429 {:.2}", faults["rate_429"].as_f64().unwrap_or(0.0))
            };
            let statuses = google.error_statuses(Some(a.email)).await;
            let limited: Vec<String> = statuses
                .iter()
                .filter(|(s, _)| *s == "403" || *s == "429")
                .map(|(s, n)| format!("{s}×{n}"))
                .collect();
            parts.push(format!(
                "quota {} #{}..#{} ({what}: {})",
                a.name,
                w.from,
                w.to,
                limited.join(" ")
            ));
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Whether `account` is paused now (false while PostgreSQL cannot answer).
async fn paused(pool: &PgPool, account: &str) -> bool {
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM account_state WHERE account = $1 AND paused_reason IS NOT NULL)",
    )
    .bind(account)
    .fetch_one(pool)
    .await
    .unwrap_or(false)
}

/// `POST /api/v1/calendar/sync {"account"}` with a token scoped to the account, to the first replica of
/// `ports` that answers, until one answer shows the pause lifted: 200, or 502 (a calendar's run met an
/// injected fault) with no calendar still paused. Returns "<status> after <n> tries".
async fn explicit_sync(account: &'static str, ports: Vec<u16>) -> Result<String, String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let token = calsync::admin_auth::mint_scoped(
        ADMIN_SECRET,
        "convergence",
        Duration::from_secs(600),
        Some(account),
    )
    .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut last = String::new();
    for attempt in 1.. {
        let port = ports[attempt % ports.len()];
        let resp = http
            .post(format!("http://127.0.0.1:{port}/api/v1/calendar/sync"))
            .bearer_auth(&token)
            .json(&json!({"account": account}))
            .send()
            .await;
        match resp {
            Ok(r) => {
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                let still_paused = body["calendars"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|c| c["status"] == "paused"));
                if status == 200 || (status == 502 && !still_paused) {
                    return Ok(format!(
                        "{status} after {attempt} {}",
                        if attempt == 1 { "try" } else { "tries" }
                    ));
                }
                last = format!("{status} {body}");
            }
            Err(e) => last = e.to_string(),
        }
        if start.elapsed() > SYNC_BOUND {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(format!("no answer lifted the pause: {last}"))
}
