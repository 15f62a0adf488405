//! The expander against the parser's own walk, and its bounds: refusals, cuts and the budget.
use super::*;

fn run(
    first: DateTime<Utc>,
    duration: chrono::Duration,
    tz: chrono_tz::Tz,
    lines: &[String],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Expansion {
    let series = Series {
        first,
        duration,
        tz,
        lines,
    };
    let mut budget = Budget::new(std::time::Duration::from_secs(5), 10_000_000);
    expand(series, from, until, Limits::DAY, &mut budget).unwrap()
}

#[test]
fn weekly_series_in_paris_keeps_local_time_across_dst() {
    let tz = chrono_tz::Europe::Paris;
    let first = "2026-03-23T08:00:00Z".parse::<DateTime<Utc>>().unwrap(); // 09:00 CET
    let lines = vec!["RRULE:FREQ=WEEKLY;COUNT=3".to_string()];
    let day = NaiveDate::from_ymd_opt(2026, 3, 30).unwrap(); // after the switch to CEST
    let from = start_of_day(day, tz);
    let until = start_of_day(day.succ_opt().unwrap(), tz);
    let got = run(first, chrono::Duration::hours(1), tz, &lines, from, until);
    assert_eq!(
        got.starts,
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
    let got = run(first, chrono::Duration::hours(1), tz, &lines, from, until);
    assert_eq!(got.starts.len(), 4);
}

/// The old expansion: walk from DTSTART with the parser's own iterator (slow, but plainly right).
fn walked(
    first: DateTime<Utc>,
    d: chrono::Duration,
    tz: chrono_tz::Tz,
    rule: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let local = first.with_timezone(&tz);
    let text = format!(
        "DTSTART;TZID={}:{}\nRRULE:{rule}",
        tz.name(),
        local.format("%Y%m%dT%H%M%S")
    );
    let set: RRuleSet = text.parse().unwrap();
    let rtz: rrule::Tz = tz.into();
    set.after((from - d - chrono::Duration::seconds(1)).with_timezone(&rtz))
        .before(until.with_timezone(&rtz))
        .all(u16::MAX)
        .dates
        .into_iter()
        .map(|x| x.with_timezone(&Utc))
        .filter(|s| *s + d > from && *s < until)
        .collect()
}

#[test]
fn skipping_ahead_gives_what_walking_gives() {
    let tz = chrono_tz::Europe::Paris;
    let first = "2019-01-31T08:30:00Z".parse::<DateTime<Utc>>().unwrap();
    let d = chrono::Duration::minutes(90);
    let rules = [
        "FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
        "FREQ=WEEKLY;WKST=SU;BYDAY=SU,SA",
        "FREQ=MONTHLY",
        "FREQ=MONTHLY;INTERVAL=5;BYDAY=-1FR",
        "FREQ=MONTHLY;BYMONTHDAY=1,15;UNTIL=20270101T000000Z",
        "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
        "FREQ=YEARLY;INTERVAL=2",
        "FREQ=DAILY;BYHOUR=7,19",
    ];
    for rule in rules {
        for (a, b) in [
            ("2026-03-28", "2026-04-03"),
            ("2026-10-20", "2026-11-30"),
            ("2031-01-01", "2031-03-01"),
        ] {
            let from = start_of_day(a.parse().unwrap(), tz);
            let until = start_of_day(b.parse().unwrap(), tz);
            let lines = vec![format!("RRULE:{rule}")];
            let got = run(first, d, tz, &lines, from, until);
            assert_eq!(got.cut, None, "{rule} {a}");
            assert_eq!(
                got.starts,
                walked(first, d, tz, rule, from, until),
                "{rule} {a}..{b}"
            );
        }
    }
}

#[test]
fn a_daily_series_from_2000_costs_a_few_steps() {
    let first = "2000-01-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
    let lines = vec!["RRULE:FREQ=DAILY".to_string()];
    let from = "2026-12-01T00:00:00Z".parse().unwrap();
    let until = "2026-12-02T00:00:00Z".parse().unwrap();
    let mut budget = Budget::new(std::time::Duration::from_secs(5), 20);
    let series = Series {
        first,
        duration: chrono::Duration::hours(1),
        tz: chrono_tz::UTC,
        lines: &lines,
    };
    let got = expand(series, from, until, Limits::DAY, &mut budget).unwrap();
    assert_eq!(
        got.starts,
        vec!["2026-12-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap()]
    );
    assert_eq!(got.cut, None);
}

#[test]
fn the_denial_of_service_rule_is_refused() {
    let first = "2000-01-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
    let lines = vec!["RRULE:FREQ=SECONDLY".to_string()];
    let series = Series {
        first,
        duration: chrono::Duration::seconds(1),
        tz: chrono_tz::UTC,
        lines: &lines,
    };
    let mut budget = Budget::new(std::time::Duration::from_secs(5), 1_000_000);
    let from = "2026-12-01T00:00:00Z".parse().unwrap();
    let until = "2026-12-02T00:00:00Z".parse().unwrap();
    assert!(expand(series, from, until, Limits::DAY, &mut budget).is_err());
}

#[test]
fn a_dense_day_is_cut_and_says_so() {
    let first = "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
    let minutes: Vec<String> = (0..60).map(|m| m.to_string()).collect();
    let lines = vec![format!(
        "RRULE:FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE={}",
        minutes.join(",")
    )];
    let from = "2026-12-01T00:00:00Z".parse().unwrap();
    let until = "2026-12-02T00:00:00Z".parse().unwrap();
    let got = run(
        first,
        chrono::Duration::minutes(1),
        chrono_tz::UTC,
        &lines,
        from,
        until,
    );
    assert_eq!(got.starts.len(), Limits::DAY.per_series);
    assert_eq!(got.cut, Some(Cut::Occurrences));
}

#[test]
fn a_counted_rule_far_behind_the_window_is_cut_not_walked() {
    let first = "2000-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
    let lines = vec![
        "RRULE:FREQ=DAILY;BYHOUR=0,6,12,18;BYMINUTE=0,10,20,30,40,50;COUNT=100000000".to_string(),
    ];
    let from = "2026-12-01T00:00:00Z".parse().unwrap();
    let until = "2026-12-02T00:00:00Z".parse().unwrap();
    let got = run(
        first,
        chrono::Duration::minutes(1),
        chrono_tz::UTC,
        &lines,
        from,
        until,
    );
    assert_eq!(got.cut, Some(Cut::Walk));
}

#[test]
fn the_budget_stops_work_across_series() {
    let first = "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
    let lines = vec!["RRULE:FREQ=DAILY;COUNT=100000".to_string()];
    let from = "2030-01-01T00:00:00Z".parse().unwrap();
    let until = "2030-01-02T00:00:00Z".parse().unwrap();
    let series = Series {
        first,
        duration: chrono::Duration::hours(1),
        tz: chrono_tz::UTC,
        lines: &lines,
    };
    let mut budget = Budget::new(std::time::Duration::from_secs(5), 100);
    let got = expand(series, from, until, Limits::DAY, &mut budget).unwrap();
    assert_eq!(got.cut, Some(Cut::Work));
    assert!(budget.exhausted());
}

#[test]
fn identical_rules_give_each_occurrence_once() {
    let first = "2026-01-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
    let lines = vec![
        "RRULE:FREQ=DAILY".to_string(),
        "RRULE:FREQ=DAILY".to_string(),
        "RRULE:FREQ=WEEKLY".to_string(),
    ];
    let from = "2026-12-03T00:00:00Z".parse().unwrap();
    let until = "2026-12-04T00:00:00Z".parse().unwrap();
    let got = run(
        first,
        chrono::Duration::hours(1),
        chrono_tz::UTC,
        &lines,
        from,
        until,
    );
    assert_eq!(got.starts.len(), 1);
}

#[test]
fn a_series_that_ended_before_2026_is_accepted() {
    let lines = vec!["RRULE:FREQ=DAILY;UNTIL=20250401T045959Z".to_string()];
    assert!(
        crate::check_lines(&lines).is_ok(),
        "{:?}",
        crate::check_lines(&lines)
    );
}
