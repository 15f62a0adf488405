//! Expanding a recurring series (RRULE/EXDATE/RDATE lines from Google) into occurrence starts within a window.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rrule::RRuleSet;

/// Occurrence starts (UTC) of a series whose first occurrence starts at `first` (local time in `tz`),
/// that begin before `until` and end after `from` (`duration` long).
pub fn occurrences(
    first: DateTime<Utc>,
    duration: chrono::Duration,
    tz: chrono_tz::Tz,
    lines: &[String],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, String> {
    let local = first.with_timezone(&tz);
    let mut text = format!(
        "DTSTART;TZID={}:{}",
        tz.name(),
        local.format("%Y%m%dT%H%M%S")
    );
    for line in lines {
        text.push('\n');
        text.push_str(line);
    }
    let set: RRuleSet = text.parse().map_err(|e: rrule::RRuleError| e.to_string())?;
    let rtz: rrule::Tz = tz.into();
    let after = (from - duration - chrono::Duration::seconds(1)).with_timezone(&rtz);
    let before = until.with_timezone(&rtz);
    let result = set.after(after).before(before).all(2000);
    Ok(result
        .dates
        .into_iter()
        .map(|d| d.with_timezone(&Utc))
        .filter(|s| *s + duration > from && *s < until)
        .collect())
}

/// Midnight of `date` in `tz`, as UTC (the earliest instant when a DST gap makes midnight ambiguous).
pub fn start_of_day(date: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_series_in_paris_keeps_local_time_across_dst() {
        let tz = chrono_tz::Europe::Paris;
        let first = "2026-03-23T08:00:00Z".parse::<DateTime<Utc>>().unwrap(); // 09:00 CET
        let lines = vec!["RRULE:FREQ=WEEKLY;COUNT=3".to_string()];
        let day = NaiveDate::from_ymd_opt(2026, 3, 30).unwrap(); // after the switch to CEST
        let from = start_of_day(day, tz);
        let until = start_of_day(day.succ_opt().unwrap(), tz);
        let got = occurrences(first, chrono::Duration::hours(1), tz, &lines, from, until).unwrap();
        assert_eq!(
            got,
            vec!["2026-03-30T07:00:00Z".parse::<DateTime<Utc>>().unwrap()]
        );
    }

    #[test]
    fn exdates_remove_occurrences() {
        let tz = chrono_tz::UTC;
        let first = "2026-01-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let lines = vec![
            "RRULE:FREQ=DAILY;COUNT=5".to_string(),
            "EXDATE:20260103T100000Z".to_string(),
        ];
        let from = "2026-01-01T00:00:00Z".parse().unwrap();
        let until = "2026-01-10T00:00:00Z".parse().unwrap();
        let got = occurrences(first, chrono::Duration::hours(1), tz, &lines, from, until).unwrap();
        assert_eq!(got.len(), 4);
    }
}
