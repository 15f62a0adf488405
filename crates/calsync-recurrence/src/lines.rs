//! Recurrence lines (`RRULE:`, `EXRULE:`, `RDATE`, `EXDATE`) read and checked one by one, so an error names its line.

use std::fmt;

use chrono::{DateTime, Utc};
use rrule::{Frequency, RRuleSet};

/// At most this many lines on one event: a series with more is refused at write time.
pub const MAX_LINES: usize = 50;

/// A recurrence line that calsync refuses, with its index in the event's `recurrence` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// Index in the list (`recurrence[i]`), or `None` when the list as a whole is at fault.
    pub index: Option<usize>,
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "recurrence[{i}]: {}", self.reason),
            None => write!(f, "recurrence: {}", self.reason),
        }
    }
}

impl std::error::Error for LineError {}

/// The lines of one series, split by kind; identical rules appear once.
#[derive(Debug, Default)]
pub struct Lines {
    /// `RRULE` bodies (after `RRULE:`), de-duplicated, in order.
    pub rules: Vec<String>,
    /// `EXRULE` bodies, de-duplicated.
    pub exrules: Vec<String>,
    /// `RDATE` and `EXDATE` lines as written (they are read against the series' DTSTART).
    pub rdates: Vec<String>,
    pub exdates: Vec<String>,
}

/// The frequencies calsync accepts: the ones Google Calendar offers for events. Finer ones
/// (`HOURLY`, `MINUTELY`, `SECONDLY`) make an unbounded number of occurrences a day.
pub fn frequency_allowed(f: Frequency) -> bool {
    matches!(
        f,
        Frequency::Daily | Frequency::Weekly | Frequency::Monthly | Frequency::Yearly
    )
}

/// Splits and checks `lines`: each one must parse with the RRULE parser (against a sample start),
/// rules must use an allowed frequency, and there are at most [`MAX_LINES`].
pub fn parse(lines: &[String]) -> Result<Lines, LineError> {
    if lines.len() > MAX_LINES {
        return Err(LineError {
            index: None,
            reason: format!("at most {MAX_LINES} lines, got {}", lines.len()),
        });
    }
    let mut out = Lines::default();
    for (i, line) in lines.iter().enumerate() {
        let err = |reason: String| LineError {
            index: Some(i),
            reason,
        };
        let line = line.trim();
        if let Some(body) = line.strip_prefix("RRULE:") {
            check_rule(body).map_err(err)?;
            push_unique(&mut out.rules, body);
        } else if let Some(body) = line.strip_prefix("EXRULE:") {
            check_rule(body).map_err(err)?;
            push_unique(&mut out.exrules, body);
        } else if line.starts_with("RDATE") || line.starts_with("EXDATE") {
            check_dates(line).map_err(err)?;
            if line.starts_with("RDATE") {
                push_unique(&mut out.rdates, line);
            } else {
                push_unique(&mut out.exdates, line);
            }
        } else {
            return Err(err(
                "each line must start with RRULE:, EXRULE:, RDATE or EXDATE".into(),
            ));
        }
    }
    Ok(out)
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

/// A sample DTSTART that every rule is checked against (the parser needs one). It is early: the parser
/// refuses an `UNTIL` before its DTSTART, and a series that ended years ago is still a valid series.
const SAMPLE_START: &str = "DTSTART:19700101T000000Z";

fn check_rule(body: &str) -> Result<(), String> {
    let set: RRuleSet = format!("{SAMPLE_START}\nRRULE:{body}")
        .parse()
        .map_err(|e: rrule::RRuleError| format!("not a valid rule ({})", short(&e)))?;
    for rule in set.get_rrule() {
        if !frequency_allowed(rule.get_freq()) {
            return Err(format!(
                "FREQ={} is not accepted: use DAILY, WEEKLY, MONTHLY or YEARLY",
                rule.get_freq()
            ));
        }
    }
    Ok(())
}

/// The parser reads date lines only beside a rule: this one adds no date of its own to what is read.
const CARRIER_RULE: &str = "RRULE:FREQ=YEARLY;COUNT=1";

fn check_dates(line: &str) -> Result<(), String> {
    format!("{SAMPLE_START}\n{CARRIER_RULE}\n{line}")
        .parse::<RRuleSet>()
        .map(|_| ())
        .map_err(|e| format!("not a valid date list ({})", short(&e)))
}

/// The parser's message, without the input it quotes (that is client content).
fn short(e: &rrule::RRuleError) -> String {
    let text = e.to_string();
    let first = text.split([':', '`', '"']).next().unwrap_or("parse error");
    first.trim().chars().take(80).collect()
}

/// The instants of `RDATE` or `EXDATE` lines, read against `dtstart` (an iCalendar DTSTART line).
pub fn dates(dtstart: &str, lines: &[String], exclude: bool) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    for line in lines {
        let Ok(set) = format!("{dtstart}\n{CARRIER_RULE}\n{line}").parse::<RRuleSet>() else {
            continue;
        };
        let list = if exclude {
            set.get_exdate()
        } else {
            set.get_rdate()
        };
        out.extend(list.iter().map(|d| d.with_timezone(&Utc)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn garbage_is_refused_and_named_by_index() {
        let e = parse(&lines(&["RRULE:FREQ=DAILY", "RRULE:garbage"])).unwrap_err();
        assert_eq!(e.index, Some(1));
        assert!(e.to_string().starts_with("recurrence[1]:"), "{e}");
    }

    #[test]
    fn sub_daily_frequencies_are_refused() {
        for f in ["SECONDLY", "MINUTELY", "HOURLY"] {
            let e = parse(&lines(&[&format!("RRULE:FREQ={f}")])).unwrap_err();
            assert!(e.reason.contains(f), "{e}");
        }
    }

    #[test]
    fn identical_rules_are_kept_once() {
        let l = parse(&lines(&["RRULE:FREQ=WEEKLY", "RRULE:FREQ=WEEKLY"])).unwrap();
        assert_eq!(l.rules.len(), 1);
    }

    #[test]
    fn too_many_lines_are_refused() {
        let many: Vec<String> = (0..=MAX_LINES).map(|_| "RRULE:FREQ=DAILY".into()).collect();
        assert_eq!(parse(&many).unwrap_err().index, None);
    }

    #[test]
    fn date_lines_parse_and_bad_ones_are_refused() {
        assert!(
            parse(&lines(&[
                "EXDATE:20260103T100000Z",
                "RDATE;VALUE=DATE:20260105"
            ]))
            .is_ok()
        );
        assert_eq!(
            parse(&lines(&["EXDATE:tomorrow"])).unwrap_err().index,
            Some(0)
        );
        assert!(parse(&lines(&["DTSTART:20260101T000000Z"])).is_err());
    }
}
