//! Structured Google-like events → `calsync::db::events::GoogleVersion::from_google` (in `sync::mapping`).
//!
//! The fuzzer chooses the shape (timed / all-day / both / neither, cancelled or
//! not, recurrence, updated, sequence) and date-time strings built from parts
//! (near-valid RFC 3339, with or without offset, real IANA zones including DST
//! folds and gaps), with raw strings as an escape hatch, so the deep paths
//! (`local_instant`, `NaiveDate` parsing, DST handling) are reached quickly.
#![no_main]

use arbitrary::Arbitrary;
use calsync::db::events::GoogleVersion;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

const ZONES: &[&str] = &[
    "Europe/Paris",
    "America/New_York",
    "UTC",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Etc/GMT+12",
    "Pacific/Kiritimati",
    "Antarctica/Troll",
    "Europe/Dublin",
    "America/St_Johns",
];

#[derive(Arbitrary, Debug)]
enum Offset {
    None,
    Z,
    Fixed { sign: bool, hours: u8, minutes: u8 },
}

#[derive(Arbitrary, Debug)]
struct Parts {
    year: u16,
    /// Chrono's `%Y` accepts signed years of more than four digits.
    wide_year: Option<i32>,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    nanos: Option<u32>,
    offset: Offset,
}

impl Parts {
    fn date(&self) -> String {
        let y = match self.wide_year {
            Some(y) => format!("{y:+}"),
            None => format!("{:04}", self.year % 10_000),
        };
        format!("{y}-{:02}-{:02}", self.month % 14, self.day % 33)
    }
    fn date_time(&self) -> String {
        let mut s = format!(
            "{}T{:02}:{:02}:{:02}",
            self.date(),
            self.hour % 25,
            self.minute % 61,
            self.second % 62
        );
        if let Some(n) = self.nanos {
            s.push_str(&format!(".{n}"));
        }
        match self.offset {
            Offset::None => {}
            Offset::Z => s.push('Z'),
            Offset::Fixed {
                sign,
                hours,
                minutes,
            } => s.push_str(&format!(
                "{}{:02}:{:02}",
                if sign { '+' } else { '-' },
                hours % 25,
                minutes % 61
            )),
        }
        s
    }
}

#[derive(Arbitrary, Debug)]
enum Text {
    Built(Parts),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Zone {
    Known(u8),
    Raw(String),
}

impl Zone {
    fn name(&self) -> String {
        match self {
            Zone::Known(i) => ZONES[*i as usize % ZONES.len()].to_string(),
            Zone::Raw(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct When {
    date_time: Option<Text>,
    date: Option<Text>,
    time_zone: Option<Zone>,
    null: bool,
}

impl When {
    fn json(&self) -> Value {
        if self.null {
            return Value::Null;
        }
        let mut m = Map::new();
        if let Some(t) = &self.date_time {
            m.insert(
                "dateTime".into(),
                match t {
                    Text::Built(p) => p.date_time().into(),
                    Text::Raw(s) => s.clone().into(),
                },
            );
        }
        if let Some(t) = &self.date {
            m.insert(
                "date".into(),
                match t {
                    Text::Built(p) => p.date().into(),
                    Text::Raw(s) => s.clone().into(),
                },
            );
        }
        if let Some(z) = &self.time_zone {
            m.insert("timeZone".into(), z.name().into());
        }
        Value::Object(m)
    }
}

#[derive(Arbitrary, Debug)]
enum Recurrence {
    Lines(Vec<String>),
    NotAString(Vec<i64>),
    Scalar(String),
    Null,
}

#[derive(Arbitrary, Debug)]
struct Event {
    id: Option<String>,
    cancelled: bool,
    status: Option<String>,
    start: Option<When>,
    end: Option<When>,
    original_start: Option<When>,
    recurrence: Option<Recurrence>,
    updated: Option<Text>,
    sequence: Option<i64>,
    summary: Option<String>,
}

impl Event {
    fn json(&self) -> Value {
        let mut m = Map::new();
        if let Some(id) = &self.id {
            m.insert("id".into(), id.clone().into());
        }
        let status = match (&self.status, self.cancelled) {
            (_, true) => Some("cancelled".to_string()),
            (s, false) => s.clone(),
        };
        if let Some(s) = status {
            m.insert("status".into(), s.into());
        }
        for (key, w) in [
            ("start", &self.start),
            ("end", &self.end),
            ("originalStartTime", &self.original_start),
        ] {
            if let Some(w) = w {
                m.insert(key.into(), w.json());
            }
        }
        if let Some(r) = &self.recurrence {
            m.insert(
                "recurrence".into(),
                match r {
                    Recurrence::Lines(l) => json!(l),
                    Recurrence::NotAString(n) => json!(n),
                    Recurrence::Scalar(s) => json!(s),
                    Recurrence::Null => Value::Null,
                },
            );
        }
        if let Some(u) = &self.updated {
            m.insert(
                "updated".into(),
                match u {
                    Text::Built(p) => p.date_time().into(),
                    Text::Raw(s) => s.clone().into(),
                },
            );
        }
        if let Some(n) = self.sequence {
            m.insert("sequence".into(), n.into());
        }
        if let Some(s) = &self.summary {
            m.insert("summary".into(), s.clone().into());
        }
        Value::Object(m)
    }
}

fuzz_target!(|event: Event| {
    let raw = event.json();
    if let Ok(row) = GoogleVersion::from_google(&raw) {
        assert!(!row.external_id.is_empty());
        assert_eq!(row.start_at.is_some(), row.end_at.is_some());
        assert_eq!(row.start_date.is_some(), row.end_date.is_some());
        let timed = row.start_at.is_some();
        let all_day = row.start_date.is_some();
        assert!(!(timed && all_day));
        assert!(row.is_cancelled() || timed || all_day);
        assert_eq!(row.raw, raw);
    }
});
