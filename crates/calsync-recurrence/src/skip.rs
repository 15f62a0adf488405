//! Skipping a rule's start ahead to just before a window, in whole periods, so expansion never walks
//! from a DTSTART years back. Only rules without `COUNT` can skip: a count needs every earlier occurrence.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use rrule::Frequency;

/// A start `k` whole periods after `first` (k a multiple of `interval`) that is at least one period
/// before `window` (both local wall-clock times), or `first` itself when no such shift is safe.
///
/// Shifting by whole periods keeps the rule's phase (the interval counts from the start) and the
/// defaults the parser takes from the start (weekday, day of month, month, time of day).
pub fn shifted_start(
    first: NaiveDateTime,
    window: NaiveDateTime,
    freq: Frequency,
    interval: u16,
) -> NaiveDateTime {
    let n = i64::from(interval.max(1));
    if window <= first {
        return first;
    }
    match freq {
        Frequency::Daily | Frequency::Weekly => {
            let days_per = if freq == Frequency::Daily { 1 } else { 7 };
            let periods = (window.date() - first.date()).num_days() / days_per;
            let k = ((periods / n) - 1).max(0) * n;
            first + Duration::days(k * days_per)
        }
        Frequency::Monthly => {
            let months = i64::from(window.year() - first.year()) * 12 + i64::from(window.month0())
                - i64::from(first.month0());
            shift_months(first, months, n, 1)
        }
        Frequency::Yearly => {
            let years = i64::from(window.year() - first.year());
            shift_months(first, years, n, 12)
        }
        _ => first,
    }
}

/// `first` moved by the largest multiple of `n` periods (of `unit` months) that stays a period
/// before `periods`, stepping back by `n` while that day does not exist (the 31st, 29 February).
fn shift_months(first: NaiveDateTime, periods: i64, n: i64, unit: i64) -> NaiveDateTime {
    let mut k = ((periods / n) - 1).max(0) * n;
    for _ in 0..48 {
        if k <= 0 {
            return first;
        }
        if let Some(date) = add_months(first.date(), k * unit) {
            return date.and_time(first.time());
        }
        k -= n;
    }
    first
}

fn add_months(d: NaiveDate, months: i64) -> Option<NaiveDate> {
    let total = i64::from(d.year()) * 12 + i64::from(d.month0()) + months;
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = u32::try_from(total.rem_euclid(12)).ok()? + 1;
    NaiveDate::from_ymd_opt(year, month, d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn daily_every_third_day_keeps_its_phase() {
        let first = at("2000-01-01 10:00");
        let got = shifted_start(first, at("2026-06-15 00:00"), Frequency::Daily, 3);
        assert_eq!((got.date() - first.date()).num_days() % 3, 0);
        assert!(got < at("2026-06-15 00:00"));
        assert!(at("2026-06-15 00:00") - got <= Duration::days(6));
        assert_eq!(got.time(), first.time());
    }

    #[test]
    fn weekly_keeps_the_weekday() {
        let first = at("2001-03-05 09:00"); // a Monday
        let got = shifted_start(first, at("2026-12-01 00:00"), Frequency::Weekly, 2);
        assert_eq!(got.weekday(), first.weekday());
        assert_eq!((got.date() - first.date()).num_days() % 14, 0);
    }

    #[test]
    fn monthly_on_the_31st_lands_on_a_month_that_has_one() {
        let first = at("2010-01-31 08:00");
        let got = shifted_start(first, at("2026-10-15 00:00"), Frequency::Monthly, 1);
        assert_eq!(got.day(), 31);
        assert!(got < at("2026-10-15 00:00"));
    }

    #[test]
    fn yearly_on_29_february_lands_on_a_leap_year() {
        let first = at("2000-02-29 08:00");
        let got = shifted_start(first, at("2026-12-01 00:00"), Frequency::Yearly, 1);
        assert_eq!((got.month(), got.day()), (2, 29));
        assert!(got.year() >= 2020);
    }

    #[test]
    fn a_window_before_the_start_changes_nothing() {
        let first = at("2026-01-01 10:00");
        assert_eq!(
            shifted_start(first, at("2025-01-01 00:00"), Frequency::Daily, 1),
            first
        );
    }
}
