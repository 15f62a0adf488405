//! Accounts apart under load (issue 20): two Google accounts on one emulator, A with more calendars
//! than [`RUNS_PER_ACCOUNT`], B with three, every calendar with a live channel. B's push → database
//! delay is measured as the push-delay phase measures it ([`phases::timed_change`]), first with A
//! quiet, then in a 429 storm on A: every API call of A answers 429 with `Retry-After: 1` while A's
//! calendars keep changing, so A's pushes keep starting runs that wait out their backoff in worker
//! slots. The target: B's p99 in the storm within 2× of its quiet p99.
//!
//! Its own rig (emulator process, calsync in-process) on a fresh database
//! (`<DATABASE_URL's database>_accounts`, dropped afterwards), after the main rig has stopped.

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use calsync::config::{AccountSettings, CalendarSettings, Settings};
use calsync::db::probes;
use calsync::db::sync_state::RUNS_PER_ACCOUNT;

use crate::phases::{self, sorted};
use crate::rig::{self, Emulator, Rig, pct};

type Rows = Vec<(String, String)>;

/// The 429 answers' `Retry-After`, in seconds.
const RETRY_AFTER_SECS: u64 = 1;
/// How often one of A's events is edited during the storm (the pushes that keep A's runs going).
const CHURN_EVERY: Duration = Duration::from_millis(50);
/// The pause before each of B's changes, quiet and in the storm alike: the storm's samples then
/// spread over several of A's runs (each ~7 s of 429s and waits) and their ends and new claims.
const GAP: Duration = Duration::from_millis(200);

/// One Google account of the phase: its name in calsync's config, its user at the emulator, its
/// calendars (`primary` and `<name>-1` …) and their role.
struct Account {
    name: &'static str,
    email: &'static str,
    calendars: usize,
    casquette: &'static str,
}

const A: Account = Account {
    name: "a",
    email: "storm@a.example",
    calendars: 6,
    casquette: "medecin",
};
const B: Account = Account {
    name: "b",
    email: "quiet@b.example",
    calendars: 3,
    casquette: "chercheur",
};

impl Account {
    fn google_ids(&self) -> Vec<String> {
        (0..self.calendars)
            .map(|k| match k {
                0 => "primary".to_string(),
                k => format!("{}-{k}", self.name),
            })
            .collect()
    }

    /// Its control routes (`/emulator/users/{email}…`), as `Rig::control` and `Emulator` take them.
    fn route(&self, rest: &str) -> String {
        format!("/users/{}{rest}", self.email)
    }
}

/// The event seeded in one calendar: its control route, and the calendar key and etag calsync stores.
struct Seeded {
    key: String,
    external_id: String,
    etag: String,
    path: String,
}

/// Runs the phase on its own rig and database; three rows.
pub async fn measure(base: &Settings, n: usize) -> anyhow::Result<Rows> {
    let (url, db) = rig::fresh_database(&base.database.url, "accounts").await?;
    let result = on_fresh_database(base, url, n).await;
    if let Err(e) = rig::drop_database(&base.database.url, &db).await {
        tracing::warn!(database = %db, error.cause = %e, "accounts: scratch database not dropped");
    }
    result
}

async fn on_fresh_database(base: &Settings, url: String, n: usize) -> anyhow::Result<Rows> {
    let emu = rig::emulator("accounts").await?;
    let mut settings = base.clone();
    settings.database.url = url;
    settings.google_calendar.calendars.clear();
    let mut seeded = Vec::new();
    for account in [&A, &B] {
        let token_path = user(&emu, account).await?;
        settings.accounts.insert(
            account.name.into(),
            AccountSettings {
                token_path: Some(token_path),
                ..AccountSettings::default()
            },
        );
        for id in account.google_ids() {
            settings.google_calendar.calendars.push(CalendarSettings {
                id: id.clone(),
                name: format!("{} {id}", account.name),
                casquette: account.casquette.into(),
                color: None,
                time_zone: None,
                account: Some(account.name.into()),
            });
        }
        seeded.push(seed(&emu, account).await?);
    }
    let rig = rig::start_on(emu, settings, "accounts").await?;
    let rows = run(&rig, &seeded[0], &seeded[1], n).await;
    rig.stop().await;
    rows
}

/// Creates the account's user at the emulator (with its calendars) and its token file; its path.
async fn user(emu: &Emulator, account: &Account) -> anyhow::Result<std::path::PathBuf> {
    let created = post(emu, "/users", json!({"email": account.email})).await?;
    let refresh = created["refresh_token"]
        .as_str()
        .ok_or_else(|| anyhow!("no refresh token for {}: {created}", account.email))?;
    let path = emu.creds.join(format!("token-{}.json", account.name));
    calsync::emulator::dev_credentials::write_token(&path, &emu.token_url(), refresh)
        .with_context(|| format!("writing {}", path.display()))?;
    for id in account.google_ids().iter().skip(1) {
        let body = json!({"id": id, "timeZone": "Europe/Paris"});
        post(emu, &account.route("/calendars"), body).await?;
    }
    Ok(path)
}

/// One event in each of the account's calendars, before calsync starts (its first sync takes them).
async fn seed(emu: &Emulator, account: &Account) -> anyhow::Result<Vec<Seeded>> {
    let mut events = Vec::new();
    for id in account.google_ids() {
        let body = json!({"summary": format!("bench {id}"),
            "start": {"dateTime": "2030-01-01T10:00:00Z"}, "end": {"dateTime": "2030-01-01T11:00:00Z"}});
        let ev = post(
            emu,
            &account.route(&format!("/calendars/{id}/events")),
            body,
        )
        .await?;
        let (Some(event), Some(etag)) = (ev["id"].as_str(), ev["etag"].as_str()) else {
            return Err(anyhow!("seeding {} {id} failed: {ev}", account.email));
        };
        events.push(Seeded {
            key: format!("{}:{id}", account.name),
            external_id: event.to_string(),
            etag: etag.to_string(),
            path: account.route(&format!("/calendars/{id}/events/{event}")),
        });
    }
    Ok(events)
}

/// A control call before calsync runs; its JSON answer, or an error naming a refusal.
async fn post(emu: &Emulator, path: &str, body: Value) -> anyhow::Result<Value> {
    let resp = emu
        .http
        .post(format!("{}/emulator{path}", emu.url))
        .json(&body)
        .send()
        .await?;
    let status = resp.status();
    let answer: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(anyhow!("POST /emulator{path}: {status} {answer}"));
    }
    Ok(answer)
}

/// Quiet, then the storm; the rows.
async fn run(rig: &Rig, a: &[Seeded], b: &[Seeded], n: usize) -> anyhow::Result<Rows> {
    let calendars = (a.len() + b.len()) as i64;
    phases::wait(
        "a channel per calendar",
        Duration::from_secs(60),
        || async {
            probes::active_channels(&rig.pool)
                .await
                .is_ok_and(|live| live >= calendars)
        },
    )
    .await?;
    for ev in a.iter().chain(b) {
        phases::wait(
            &format!("{} synced", ev.key),
            Duration::from_secs(60),
            || async {
                probes::etag_of(&rig.pool, &ev.key, &ev.external_id)
                    .await
                    .as_deref()
                    == Some(ev.etag.as_str())
            },
        )
        .await?;
    }
    phases::idle_pub(rig).await?;
    probes::notify_event_updates(&rig.pool).await?;
    let quiet = sample(rig, b, n).await?;

    let storm = storm(rig, a, b, n).await;
    // Lifted whatever happened, so that A's runs end before calsync stops.
    rig.post(&A.route("/faults"), json!({})).await?;
    probes::stop_notifying_event_updates(&rig.pool).await?;
    let (storm, cost) = storm?;
    Ok(rows(n, &quiet, &storm, &cost))
}

/// Every API call of A answers 429 while A's events keep changing; B sampled once A's runs hold
/// their share of the slots. B's delays, and what the storm cost at the emulator.
async fn storm(rig: &Rig, a: &[Seeded], b: &[Seeded], n: usize) -> anyhow::Result<(Sample, Storm)> {
    let before = api_calls(rig, &A).await?.len();
    let faults = json!({"rate_429": 1.0, "retry_after_secs": RETRY_AFTER_SECS});
    rig.post(&A.route("/faults"), faults).await?;
    let stop = CancellationToken::new();
    let churn = tokio::spawn(churn(
        rig.http.clone(),
        a.iter().map(|ev| rig.control(&ev.path)).collect(),
        stop.clone(),
    ));
    let started = Instant::now();
    let sampled = async {
        phases::wait("A's runs in the storm", Duration::from_secs(30), || async {
            probes::runs_of(&rig.pool, A.name)
                .await
                .is_ok_and(|runs| runs >= RUNS_PER_ACCOUNT)
        })
        .await?;
        sample(rig, b, n).await
    }
    .await;
    stop.cancel();
    let edits = churn.await.unwrap_or(0);
    let secs = started.elapsed().as_secs_f64();
    let sampled = sampled?;
    let a_log = api_calls(rig, &A).await?;
    let a_log = a_log.get(before..).unwrap_or_default();
    let answered_429 = |log: &[Value]| log.iter().filter(|r| r["status"] == 429).count();
    let cost = Storm {
        a_calls: a_log.len(),
        a_429: answered_429(a_log),
        b_429: answered_429(&api_calls(rig, &B).await?),
        edits,
        secs,
    };
    Ok((sampled, cost))
}

/// B's delays and, for each change, A's runs in flight when it was made.
struct Sample {
    delays: Vec<f64>,
    a_runs: Vec<i64>,
}

/// `n` changes at B, one at a time (each [`GAP`] after the last, once B's calendars are idle), round
/// robin over its calendars.
async fn sample(rig: &Rig, b: &[Seeded], n: usize) -> anyhow::Result<Sample> {
    let mut listener = calsync::db::listen(&rig.pool, probes::EVENT_UPDATES).await?;
    let mut s = Sample {
        delays: Vec::with_capacity(n),
        a_runs: Vec::with_capacity(n),
    };
    for i in 0..n {
        tokio::time::sleep(GAP).await;
        phases::wait("B's calendars idle", Duration::from_secs(60), || async {
            probes::busy_calendars_of(&rig.pool, B.name)
                .await
                .is_ok_and(|busy| busy == 0)
        })
        .await?;
        s.a_runs.push(probes::runs_of(&rig.pool, A.name).await?);
        let ev = &b[i % b.len()];
        s.delays
            .push(phases::timed_change(rig, &mut listener, &ev.path, i).await?);
    }
    Ok(s)
}

/// Edits A's events in turn, one every [`CHURN_EVERY`], until `stop`; how many edits were made.
async fn churn(http: reqwest::Client, urls: Vec<String>, stop: CancellationToken) -> usize {
    let mut tick = tokio::time::interval(CHURN_EVERY);
    let mut edits = 0;
    for url in urls.iter().cycle() {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let body = json!({"location": format!("storm {edits}")});
        match http.patch(url).json(&body).send().await {
            Ok(r) if r.status().is_success() => edits += 1,
            Ok(r) => tracing::warn!(status = %r.status(), "accounts: an edit of A refused"),
            Err(e) => tracing::warn!(error.cause = %e, "accounts: an edit of A failed"),
        }
    }
    edits
}

/// The user's Calendar API calls in the emulator's request log (its token grants left out).
async fn api_calls(rig: &Rig, account: &Account) -> anyhow::Result<Vec<Value>> {
    let mut v: Value = rig
        .http
        .get(rig.control("/requests"))
        .query(&[("user", account.email)])
        .send()
        .await?
        .json()
        .await?;
    match v["requests"].take() {
        Value::Array(log) => Ok(log
            .into_iter()
            .filter(|r| {
                r["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/calendar/v3/"))
            })
            .collect()),
        _ => Err(anyhow!("the emulator's request log is not a list")),
    }
}

/// What the storm cost at the emulator: A's calls and 429 answers since it began, B's 429 answers
/// (none expected), A's edits pushed, and how long it lasted.
struct Storm {
    a_calls: usize,
    a_429: usize,
    b_429: usize,
    edits: usize,
    secs: f64,
}

fn rows(n: usize, quiet: &Sample, storm: &Sample, cost: &Storm) -> Rows {
    let Storm {
        a_calls,
        a_429,
        b_429,
        edits,
        secs,
    } = cost;
    let (q, s) = (sorted(quiet.delays.clone()), sorted(storm.delays.clone()));
    let ratio = pct(&s, 99.0) / pct(&q, 99.0).max(0.001);
    let mark = if ratio <= 2.0 { "✓" } else { "✗" };
    let runs = |x: &Sample| {
        let min = x.a_runs.iter().min().copied().unwrap_or(0);
        let max = x.a_runs.iter().max().copied().unwrap_or(0);
        let mean = x.a_runs.iter().sum::<i64>() as f64 / x.a_runs.len().max(1) as f64;
        format!("{min}–{max}, mean {mean:.1}")
    };
    vec![
        (
            format!("accounts: B's push → database, A quiet, {n} changes (p50/p99)"),
            format!(
                "{:.1} / {:.1} ms (A's runs in flight: {})",
                pct(&q, 50.0),
                pct(&q, 99.0),
                runs(quiet)
            ),
        ),
        (
            format!("accounts: B's push → database, 429 storm on A, {n} changes (p50/p99)"),
            format!(
                "{:.1} / {:.1} ms → p99 ratio {ratio:.2}× (target ≤ 2× {mark}; A's runs in flight: {})",
                pct(&s, 50.0),
                pct(&s, 99.0),
                runs(storm)
            ),
        ),
        (
            "accounts: A's Calendar API calls in the storm".into(),
            format!(
                "{a_calls} calls, {a_429} answered 429 (Retry-After {RETRY_AFTER_SECS} s) over {secs:.1} s, \
                 {edits} edits of A pushed; B's calls answered 429: {b_429}"
            ),
        ),
    ]
}
