//! Google's checks on an event body before a write (insert, update, patch), each with Google's error
//! body: times well formed and in order (`timeRangeEmpty`), known time zones, a parseable recurrence,
//! and reminders Google accepts.

use actix_web::HttpResponse;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use super::errors;

/// The instant an `EventDateTime` names: an offset `dateTime`, a floating one read in its
/// `timeZone` (as Google accepts), or an all-day `date` at UTC midnight.
pub fn instant(v: &Value) -> Option<DateTime<Utc>> {
    if let Some(dt) = v.get("dateTime").and_then(Value::as_str) {
        if let Ok(t) = DateTime::parse_from_rfc3339(dt) {
            return Some(t.with_timezone(&Utc));
        }
        let tz: chrono_tz::Tz = v.get("timeZone")?.as_str()?.parse().ok()?;
        let naive = NaiveDateTime::parse_from_str(dt, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
        return tz
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(v.get("date")?.as_str()?, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc())
}

/// Everything Google checks on a (merged) event before storing it.
pub fn event(e: &Value) -> Result<(), HttpResponse> {
    if e.get("status").and_then(Value::as_str) != Some("cancelled") {
        times(e)?;
    }
    recurrence(e)?;
    reminders(e)
}

fn times(e: &Value) -> Result<(), HttpResponse> {
    let mut at = Vec::new();
    for key in ["start", "end"] {
        let t = e
            .get(key)
            .filter(|v| v.is_object())
            .ok_or_else(|| errors::required(&format!("Missing {key} time.")))?;
        if let Some(zone) = t.get("timeZone")
            && zone
                .as_str()
                .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
                .is_none()
        {
            return Err(errors::invalid(&format!(
                "Invalid time zone definition for {key} time."
            )));
        }
        let ok = match (t.get("dateTime"), t.get("date")) {
            (Some(_), None) | (None, Some(_)) => instant(t),
            _ => None,
        };
        at.push(ok.ok_or_else(|| errors::bad_request(&format!("Invalid {key} time.")))?);
    }
    if at[1] <= at[0] {
        return Err(errors::time_range_empty());
    }
    Ok(())
}

fn recurrence(e: &Value) -> Result<(), HttpResponse> {
    let Some(lines) = e.get("recurrence").filter(|r| !r.is_null()) else {
        return Ok(());
    };
    let bad = || errors::invalid("Invalid recurrence rule.");
    let lines: Vec<String> = lines
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|l| l.as_str().map(str::to_string).ok_or_else(bad))
        .collect::<Result<_, _>>()?;
    let known = |l: &String| {
        ["RRULE:", "EXRULE:", "RDATE", "EXDATE"]
            .iter()
            .any(|p| l.starts_with(p))
    };
    if lines.is_empty() || !lines.iter().all(known) {
        return Err(bad());
    }
    calsync_recurrence::check_lines(&lines).map_err(|_| bad())?;
    Ok(())
}

/// Overrides need a method (`email`/`popup`) and minutes in 0..=40320; at most five; and not
/// together with `useDefault: true`.
fn reminders(e: &Value) -> Result<(), HttpResponse> {
    let Some(overrides) = e.pointer("/reminders/overrides").and_then(Value::as_array) else {
        return Ok(());
    };
    if e.pointer("/reminders/useDefault").and_then(Value::as_bool) == Some(true)
        && !overrides.is_empty()
    {
        return Err(errors::google_error(
            400,
            "calendar",
            "cannotUseDefaultRemindersAndSpecifyOverride",
            "Cannot specify both default reminders and overrides at the same time.",
        ));
    }
    if overrides.len() > 5 {
        return Err(errors::google_error(
            400,
            "calendar",
            "tooManyReminders",
            "Event being modified contains too many reminders.",
        ));
    }
    for o in overrides {
        match o.get("method").and_then(Value::as_str) {
            None => return Err(errors::required("Missing reminder method.")),
            Some("popup" | "email") => {}
            Some(_) => return Err(errors::invalid("Invalid reminder method.")),
        }
        match o.get("minutes") {
            None => return Err(errors::required("Missing reminder minutes.")),
            Some(m) if m.as_i64().is_some_and(|m| (0..=40_320).contains(&m)) => {}
            Some(_) => return Err(errors::invalid("Invalid reminder minutes value.")),
        }
    }
    Ok(())
}
