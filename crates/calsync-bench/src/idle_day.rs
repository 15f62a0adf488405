//! The idle day, measured rather than computed: calsync on its own emulator and a fresh database,
//! every interval scaled down by one factor, and the Calendar API calls the emulator logged over
//! simulated days with no change at Google; push mode (live channels) and poll-only side by side.
//!
//! The settings can only express whole seconds, so the fastest scale for a 30-minute poll is 1/1800
//! (a 1 s poll). Poll-only runs at that scale; push mode runs at 1/3600 so that its window holds a
//! renewal (channels live 7 days and are renewed one day before expiry, on day 6). In push mode the
//! poll interval (0.5 s at that scale) is rounded up to 1 s: it serves only calendars without a live
//! channel (renewal creates the new channel before stopping the old; the window ends with a live
//! channel per calendar). Both modes run at the same time, after the other phases.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use serde_json::Value;

use calsync::config::Settings;
use calsync::db::probes;

use crate::rig::{self, Mode, Plan, Rig};

type Rows = Vec<(String, String)>;

const DAY_SECS: f64 = 86_400.0;

/// What one mode's window cost, from the emulator's request log.
#[derive(Debug, Default)]
struct Tally {
    /// `events.list` per calendar.
    lists: BTreeMap<String, u64>,
    watch: u64,
    stop: u64,
    /// Any other Calendar API method, by name.
    other: BTreeMap<String, u64>,
}

/// Runs both modes side by side; one row.
pub async fn measure(base: &Settings, plan: Plan) -> anyhow::Result<Rows> {
    let (push, poll) = tokio::join!(run_mode(base, plan.push), run_mode(base, plan.poll));
    let (push, poll) = (
        push.context("idle day, push mode")?,
        poll.context("idle day, poll-only")?,
    );
    let n = base.google_calendar.calendars.len().max(1) as f64;
    let per_day = |count: u64, mode: &Mode| count as f64 / n / mode.days;
    let lists = |t: &Tally| t.lists.values().sum::<u64>();
    let spread = |t: &Tally, mode: &Mode| {
        let min = t.lists.values().min().copied().unwrap_or(0) as f64 / mode.days;
        let max = t.lists.values().max().copied().unwrap_or(0) as f64 / mode.days;
        format!("per calendar {min:.1}–{max:.1}")
    };
    let other = |t: &Tally, mode: &Mode| {
        if t.other.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = t.other.iter().map(|(m, c)| format!("{m} {c}")).collect();
            format!(
                " + {:.2} other ({})",
                per_day(t.other.values().sum(), mode),
                names.join(", ")
            )
        }
    };
    let (pm, qm) = (&plan.push, &plan.poll);
    let push_list = per_day(lists(&push), pm);
    let mark = if push_list <= 2.0 { "✓" } else { "✗" };
    Ok(vec![(
        "Google calls per calendar per day, idle (measured)".into(),
        format!(
            "push ({} at 1/{} speed): {push_list:.2} events.list ({}) + {:.2} watch/stop \
             ({} watch, {} stop){}; poll-only ({} at 1/{}): {:.1} events.list ({}){}; \
             target with channels ≤ 2 {mark}; counted in the emulator's request log",
            simulated(pm.days),
            pm.scale,
            spread(&push, pm),
            per_day(push.watch + push.stop, pm),
            push.watch,
            push.stop,
            other(&push, pm),
            simulated(qm.days),
            qm.scale,
            per_day(lists(&poll), qm),
            spread(&poll, qm),
            other(&poll, qm),
        ),
    )])
}

fn simulated(days: f64) -> String {
    let unit = if days > 1.0 { "days" } else { "day" };
    format!("{days} simulated {unit}")
}

/// A fresh database and a fresh rig with the mode's settings; counts one window; cleans up.
async fn run_mode(base: &Settings, mode: Mode) -> anyhow::Result<Tally> {
    let tag = if mode.push { "idle-push" } else { "idle-poll" };
    let (url, db) = rig::fresh_database(&base.database.url, tag).await?;
    let settings = scaled(base, &mode, url);
    tracing::info!(
        mode = tag,
        poll_secs = settings.google_calendar.poll_interval().as_secs(),
        safety_secs = settings.push.safety_interval().as_secs(),
        channel_ttl_secs = settings.push.channel_ttl_secs,
        renew_margin_secs = settings.push.renew_margin_secs,
        "idle day: scaled settings"
    );
    let result = match rig::start(settings, tag).await {
        Ok(rig) => {
            let tally = window(&rig, &mode).await;
            rig.stop().await;
            tally
        }
        Err(e) => Err(e),
    };
    if let Err(e) = rig::drop_database(&base.database.url, &db).await {
        tracing::warn!(database = %db, error.cause = %e, "idle day: scratch database not dropped");
    }
    result
}

/// The base settings with every interval that decides idle calls divided by the mode's scale.
fn scaled(base: &Settings, mode: &Mode, url: String) -> Settings {
    let down = |secs: u64| ((secs as f64 / mode.scale as f64).round() as u64).max(1);
    let mut s = base.clone();
    s.database.url = url;
    s.google_calendar.sync_interval_seconds =
        Some(down(base.google_calendar.poll_interval().as_secs()));
    s.push.enabled = mode.push;
    s.push.safety_sync_seconds = Some(down(base.push.safety_interval().as_secs()));
    // calsync asks for a long life (30 days) and keeps what Google grants: 7 days at most. The
    // emulator's cap is not scaled, so the scaled ask is the grant itself.
    s.push.channel_ttl_secs = down(
        base.push
            .channel_ttl_secs
            .min(calsync_emulator::MAX_CHANNEL_TTL_SECS.unsigned_abs()),
    )
    .max(2);
    s.push.renew_margin_secs = down(base.push.renew_margin_secs).min(s.push.channel_ttl_secs - 1);
    s
}

/// Waits until idle (first syncs done, channels live in push mode), then half of the mode's sync
/// interval (so that no sync sits on the window's edges), then counts the window.
async fn window(rig: &Rig, mode: &Mode) -> anyhow::Result<Tally> {
    let n = rig.settings.google_calendar.calendars.len() as i64;
    let channels = if mode.push { n } else { 0 };
    let started = Instant::now();
    loop {
        let busy = probes::busy_calendars(&rig.pool).await?;
        let live = probes::active_channels(&rig.pool).await?;
        if busy == 0 && live >= channels {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err(anyhow!(
                "not idle after 120 s ({busy} calendars busy, {live} channels)"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let period = if mode.push {
        rig.settings.push.safety_interval()
    } else {
        rig.settings.google_calendar.poll_interval()
    };
    tokio::time::sleep(period / 2).await;
    let before = rig.requests().await?.len();
    tokio::time::sleep(Duration::from_secs_f64(
        mode.days * DAY_SECS / mode.scale as f64,
    ))
    .await;
    let log = rig.requests().await?;
    if mode.push {
        let live = probes::active_channels(&rig.pool).await?;
        if live < n {
            return Err(anyhow!(
                "only {live} live channels for {n} calendars after the window"
            ));
        }
    }
    Ok(tally(log.get(before..).unwrap_or_default()))
}

fn tally(log: &[Value]) -> Tally {
    let mut t = Tally::default();
    for entry in log {
        let method = entry["method"].as_str().unwrap_or("unknown");
        match method {
            "events.list" => {
                let path = entry["path"].as_str().unwrap_or_default();
                let calendar = path
                    .split('/')
                    .skip_while(|p| *p != "calendars")
                    .nth(1)
                    .unwrap_or("?");
                *t.lists.entry(calendar.to_string()).or_default() += 1;
            }
            "events.watch" => t.watch += 1,
            "channels.stop" => t.stop += 1,
            other => *t.other.entry(other.to_string()).or_default() += 1,
        }
    }
    t
}
