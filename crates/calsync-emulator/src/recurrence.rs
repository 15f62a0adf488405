//! `singleEvents=true`: a series expanded into instances (`<masterId>_<start>`), exceptions applied.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::state::Calendar;
use super::state::{bounds, tombstone};

/// `t` as Google writes an instance's time: in the series' zone with its offset (`Z` for UTC).
pub fn local(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    if tz == chrono_tz::UTC {
        return t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    }
    t.with_timezone(&tz)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Instances of `master` within [from, until) (one year around now when unbounded), at most 2,000;
/// cancelled exceptions come back (as tombstones) only with `show_deleted`.
pub fn instances(
    cal: &Calendar,
    master: &Value,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    show_deleted: bool,
) -> Vec<Value> {
    let Some((first, end)) = bounds(master) else {
        return Vec::new();
    };
    let Some(id) = master.get("id").and_then(Value::as_str) else {
        return Vec::new();
    };
    let lines: Vec<String> = master
        .get("recurrence")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|l| l.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let all_day = master.pointer("/start/date").is_some();
    let tz: chrono_tz::Tz = master
        .pointer("/start/timeZone")
        .and_then(Value::as_str)
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    let now = Utc::now();
    let from = from.unwrap_or(now - chrono::Duration::days(366));
    let until = until.unwrap_or(now + chrono::Duration::days(366));
    let series = calsync_recurrence::Series {
        first,
        duration: end - first,
        tz,
        lines: &lines,
    };
    // Google caps what one list answer expands; the emulator bounds it by work as calsync does.
    let mut budget = calsync_recurrence::Budget::new(std::time::Duration::from_secs(1), 1_000_000);
    let limits = calsync_recurrence::Limits {
        per_series: 2_000,
        walk: 100_000,
    };
    let Ok(expansion) = calsync_recurrence::expand(series, from, until, limits, &mut budget) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for start in expansion.starts {
        let suffix = if all_day {
            start.format("%Y%m%d").to_string()
        } else {
            start.format("%Y%m%dT%H%M%SZ").to_string()
        };
        let inst_id = format!("{id}_{suffix}");
        if let Some(exception) = cal.events.get(&inst_id) {
            if exception.get("status").and_then(Value::as_str) != Some("cancelled") {
                out.push(exception.clone());
            } else if show_deleted {
                out.push(tombstone(exception));
            }
            continue;
        }
        let mut inst = master.clone();
        if let Some(o) = inst.as_object_mut() {
            o.remove("recurrence");
            o.insert("id".into(), json!(inst_id));
            o.insert("recurringEventId".into(), json!(id));
            let fmt = |t: DateTime<Utc>| local(t, tz);
            if all_day {
                let d = start.date_naive();
                let e = d + (end - first);
                o.insert("start".into(), json!({"date": d.to_string()}));
                o.insert("end".into(), json!({"date": e.to_string()}));
                o.insert("originalStartTime".into(), json!({"date": d.to_string()}));
            } else {
                let zone = master
                    .pointer("/start/timeZone")
                    .cloned()
                    .unwrap_or(json!("UTC"));
                o.insert(
                    "start".into(),
                    json!({"dateTime": fmt(start), "timeZone": zone}),
                );
                o.insert(
                    "end".into(),
                    json!({"dateTime": fmt(start + (end - first)), "timeZone": zone}),
                );
                o.insert(
                    "originalStartTime".into(),
                    json!({"dateTime": fmt(start), "timeZone": zone}),
                );
            }
        }
        out.push(inst);
    }
    out
}
