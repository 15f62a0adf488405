//! Raw JSON → `calsync::db::events::GoogleVersion::from_google` (in `sync::mapping`).
//!
//! Invalid JSON is skipped. An `events.list` page (an object with an `items`
//! array) is mapped item by item as well, so whole Google responses are useful
//! seeds.
#![no_main]

use calsync::db::events::GoogleVersion;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn check(raw: &Value) {
    let Ok(row) = GoogleVersion::from_google(raw) else {
        return;
    };
    // What the batched upsert (and the table's check constraint) relies on.
    assert!(!row.external_id.is_empty());
    assert_eq!(row.start_at.is_some(), row.end_at.is_some());
    assert_eq!(row.start_date.is_some(), row.end_date.is_some());
    let timed = row.start_at.is_some();
    let all_day = row.start_date.is_some();
    assert!(!(timed && all_day));
    assert!(row.is_cancelled() || timed || all_day);
    assert_eq!(&row.raw, raw);
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    check(&value);
    if let Some(items) = value.get("items").and_then(Value::as_array) {
        for item in items {
            check(item);
        }
    }
});
