//! The operational snapshot behind the status page and the scrape-time gauges of `/metrics`:
//! per-calendar channel and sync state, outbox depth, open conflicts, the last day's sync delays
//! (read by `db::status`), and the gauges set from it.

use chrono::{DateTime, Utc};

pub use crate::db::status::{CalendarStatus, DelayPoint, OpenConflict, Snapshot, full, gauges};

/// Sets the gauges read from the database (channels, outbox, conflicts) in `metrics`.
pub fn record_gauges(snap: &Snapshot, now: DateTime<Utc>, metrics: &crate::metrics::Metrics) {
    let live: Vec<&CalendarStatus> = snap
        .calendars
        .iter()
        .filter(|c| {
            c.channel_state.as_deref() == Some("active")
                && c.channel_expires.is_some_and(|e| e > now)
        })
        .collect();
    let on_push = |c: &CalendarStatus| c.push_health == "live";
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    metrics.set_gauges(
        "calsync_channels_live",
        "Calendars with a live watch channel.",
        &[(vec![], count(live.len()))],
    );
    let expiries: Vec<_> = live
        .iter()
        .filter_map(|c| {
            let exp = c.channel_expires?;
            let labels = vec![
                ("account", c.account.clone()),
                ("calendar", c.id.clone()),
                ("casquette", c.casquette.clone()),
            ];
            Some((labels, (exp - now).num_seconds()))
        })
        .collect();
    metrics.set_gauges(
        "calsync_channel_expiry_seconds",
        "Seconds until each calendar's live channel expires.",
        &expiries,
    );
    let polled: Vec<_> = snap
        .calendars
        .iter()
        .filter(|c| !on_push(c))
        .map(|c| {
            let labels = vec![
                ("account", c.account.clone()),
                ("calendar", c.id.clone()),
                ("casquette", c.casquette.clone()),
                ("reason", c.push_reason.clone().unwrap_or_default()),
            ];
            (labels, 1)
        })
        .collect();
    metrics.set_gauges(
        "calsync_calendar_on_poll",
        "Calendars push cannot serve (no live channel, watch refused, channel degraded), kept by the fallback poll.",
        &polled,
    );
    metrics.set_gauges(
        "calsync_outbox_depth",
        "Local changes waiting to reach Google (parked ones excluded).",
        &[(vec![], snap.outbox_depth)],
    );
    metrics.set_gauges(
        "calsync_outbox_parked",
        "Local changes Google refused (400), kept for an operator.",
        &[(vec![], snap.outbox_parked)],
    );
    metrics.set_gauges(
        "calsync_conflicts_open",
        "Last-write-wins conflicts waiting for a choice.",
        &[(vec![], count(snap.conflicts.len()))],
    );
}
