//! Expanding a recurring series (RRULE/EXRULE/RDATE/EXDATE lines from Google) into occurrence starts
//! within a window, at a bounded cost: rules skip ahead to the window instead of walking from their
//! start, every request carries a work budget and a deadline, and a cut series says why it was cut.

mod lines;
mod skip;

use std::collections::BTreeSet;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rrule::RRuleSet;

pub use lines::{LineError, MAX_LINES, frequency_allowed, parse as check_lines};

/// Per-series bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// At most this many occurrences of one series in one answer.
    pub per_series: usize,
    /// At most this many occurrences walked before the window (rules with `COUNT` cannot skip).
    pub walk: u64,
}

impl Limits {
    /// For a day's agenda (`/today`).
    pub const DAY: Limits = Limits {
        per_series: 500,
        walk: 100_000,
    };
}

/// The work one request may spend on expansion, shared by all its series.
#[derive(Debug)]
pub struct Budget {
    deadline: Instant,
    steps: u64,
    exhausted: bool,
}

impl Budget {
    pub fn new(time: std::time::Duration, steps: u64) -> Self {
        Budget {
            deadline: Instant::now() + time,
            steps,
            exhausted: false,
        }
    }

    /// Takes one step; false once the steps or the time are used up.
    fn spend(&mut self) -> bool {
        if self.exhausted || self.steps == 0 {
            self.exhausted = true;
            return false;
        }
        self.steps -= 1;
        if self.steps.is_multiple_of(1024) && Instant::now() >= self.deadline {
            self.exhausted = true;
        }
        !self.exhausted
    }

    pub fn exhausted(&self) -> bool {
        self.exhausted
    }
}

/// Why a series was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// More occurrences in the window than [`Limits::per_series`].
    Occurrences,
    /// The request's budget (steps or time) ran out.
    Work,
    /// A counted rule has more occurrences before the window than [`Limits::walk`].
    Walk,
}

impl Cut {
    pub fn as_str(self) -> &'static str {
        match self {
            Cut::Occurrences => "occurrence_limit",
            Cut::Work => "work_limit",
            Cut::Walk => "too_many_occurrences_before_window",
        }
    }
}

/// Occurrence starts (UTC, sorted, no duplicates), and why the list is incomplete if it is.
#[derive(Debug, Default)]
pub struct Expansion {
    pub starts: Vec<DateTime<Utc>>,
    pub cut: Option<Cut>,
}

/// One series: its first occurrence's start, its length, its zone and its recurrence lines.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub first: DateTime<Utc>,
    pub duration: chrono::Duration,
    pub tz: chrono_tz::Tz,
    pub lines: &'a [String],
}

/// Occurrences of `series` that begin before `until` and end after `from`.
pub fn expand(
    series: Series<'_>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    limits: Limits,
    budget: &mut Budget,
) -> Result<Expansion, LineError> {
    let parsed = lines::parse(series.lines)?;
    let walker = Walker {
        series,
        from,
        until,
        limits,
        first_local: series.first.with_timezone(&series.tz).naive_local(),
        window_local: (from - series.duration)
            .with_timezone(&series.tz)
            .naive_local(),
    };
    let mut starts = BTreeSet::new();
    let mut cut = None;
    for rule in &parsed.rules {
        if cut.is_some() {
            break;
        }
        cut = walker.walk(rule, &mut starts, budget);
    }
    let dtstart = walker.dtstart(walker.first_local);
    for d in lines::dates(&dtstart, &parsed.rdates, false) {
        if walker.in_window(d) && starts.len() < limits.per_series {
            starts.insert(d);
        }
    }
    for d in lines::dates(&dtstart, &parsed.exdates, true) {
        starts.remove(&d);
    }
    let mut excluded = BTreeSet::new();
    for rule in &parsed.exrules {
        let unbounded = Walker {
            limits: Limits {
                per_series: usize::MAX,
                ..limits
            },
            ..walker
        };
        if let Some(c) = unbounded.walk(rule, &mut excluded, budget) {
            cut = cut.or(Some(c));
        }
    }
    starts.retain(|s| !excluded.contains(s));
    Ok(Expansion {
        starts: starts.into_iter().collect(),
        cut,
    })
}

#[derive(Debug, Clone, Copy)]
struct Walker<'a> {
    series: Series<'a>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    limits: Limits,
    first_local: NaiveDateTime,
    window_local: NaiveDateTime,
}

impl Walker<'_> {
    fn dtstart(&self, local: NaiveDateTime) -> String {
        format!(
            "DTSTART;TZID={}:{}",
            self.series.tz.name(),
            local.format("%Y%m%dT%H%M%S")
        )
    }

    fn in_window(&self, start: DateTime<Utc>) -> bool {
        start + self.series.duration > self.from && start < self.until
    }

    /// Adds the occurrences of one rule to `out`; `Some(cut)` when it had to stop early.
    fn walk(
        &self,
        rule: &str,
        out: &mut BTreeSet<DateTime<Utc>>,
        budget: &mut Budget,
    ) -> Option<Cut> {
        let parse = |local: NaiveDateTime| {
            format!("{}\nRRULE:{rule}", self.dtstart(local)).parse::<RRuleSet>()
        };
        let Ok(probe) = parse(self.first_local) else {
            return None;
        };
        let r = probe.get_rrule().first()?;
        if let Some(u) = r.get_until()
            && u.with_timezone(&Utc) + self.series.duration <= self.from
        {
            return None;
        }
        let set = match r.get_count() {
            Some(_) => probe,
            None => {
                let start = skip::shifted_start(
                    self.first_local,
                    self.window_local,
                    r.get_freq(),
                    r.get_interval(),
                );
                let exists = self
                    .series
                    .tz
                    .from_local_datetime(&start)
                    .earliest()
                    .is_some();
                match (start != self.first_local && exists).then(|| parse(start)) {
                    Some(Ok(shifted)) => shifted,
                    _ => probe,
                }
            }
        };
        let mut walked = 0u64;
        for d in &set.limit() {
            if !budget.spend() {
                return Some(Cut::Work);
            }
            let start = d.with_timezone(&Utc);
            if start >= self.until {
                break;
            }
            if self.in_window(start) {
                if out.len() >= self.limits.per_series {
                    return Some(Cut::Occurrences);
                }
                out.insert(start);
            } else {
                walked += 1;
                if walked > self.limits.walk {
                    return Some(Cut::Walk);
                }
            }
        }
        None
    }
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
mod tests;
