//! Fuzz target: the recurrence expander never panics, stays within its budget, and answers sorted,
//! unique occurrences inside the window, whatever the lines, start, zone and window.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use calsync::recurrence::{Budget, Limits, Series, expand};
use chrono::{DateTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    lines: Vec<String>,
    /// Seconds after 1990-01-01 for the first start, and for the window.
    start: u32,
    window: u32,
    window_days: u8,
    duration_minutes: u16,
    zone: u8,
}

const ZONES: [chrono_tz::Tz; 4] = [
    chrono_tz::UTC,
    chrono_tz::Europe::Paris,
    chrono_tz::America::New_York,
    chrono_tz::Australia::Lord_Howe,
];

fuzz_target!(|input: Input| {
    let base = Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0).unwrap();
    let first: DateTime<Utc> = base + chrono::Duration::seconds(i64::from(input.start));
    let from = base + chrono::Duration::seconds(i64::from(input.window));
    let until = from + chrono::Duration::days(i64::from(input.window_days % 32) + 1);
    let series = Series {
        first,
        duration: chrono::Duration::minutes(i64::from(input.duration_minutes)),
        tz: ZONES[usize::from(input.zone) % ZONES.len()],
        lines: &input.lines,
    };
    let limits = Limits { per_series: 200, walk: 20_000 };
    let mut budget = Budget::new(Duration::from_millis(500), 200_000);
    let started = Instant::now();
    if let Ok(got) = expand(series, from, until, limits, &mut budget) {
        assert!(got.starts.len() <= limits.per_series);
        assert!(got.starts.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        for s in &got.starts {
            assert!(*s < until && *s + series.duration > from, "outside the window");
        }
    }
    // The deadline is checked every 1,024 steps; parsing 50 lines adds little on top.
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
});
