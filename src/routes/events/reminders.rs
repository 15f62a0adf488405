//! `reminders` in event bodies: Google's shape (`useDefault`, at most 5 `overrides`), checked before it is stored.

use serde_json::Value;

use crate::error::ApiError;

/// Google's limits: 5 overrides, 0 to 4 weeks before the start.
const MAX_OVERRIDES: usize = 5;
const MAX_MINUTES: u64 = 40_320;

fn bad(message: String) -> ApiError {
    ApiError::BadRequest(message)
}

/// Checks a `reminders` value (`null` is fine: no reminders given, or cleared).
pub fn check(v: &Value) -> Result<(), ApiError> {
    let m = match v {
        Value::Null => return Ok(()),
        Value::Object(m) => m,
        _ => return Err(bad("reminders must be an object or null".into())),
    };
    if let Some(k) = m.keys().find(|k| *k != "useDefault" && *k != "overrides") {
        crate::routes::input::text("reminders", k)?;
        return Err(bad(format!(
            "reminders.{k}: unknown field (use useDefault and overrides)"
        )));
    }
    let use_default = match m.get("useDefault") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("reminders.useDefault must be a boolean".into())),
    };
    let overrides = match m.get("overrides") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(bad("reminders.overrides must be a list".into())),
    };
    if overrides.len() > MAX_OVERRIDES {
        return Err(bad(format!(
            "reminders.overrides: at most {MAX_OVERRIDES} reminders"
        )));
    }
    if use_default && !overrides.is_empty() {
        return Err(bad(
            "reminders.overrides must be empty when reminders.useDefault is true".into(),
        ));
    }
    for (i, o) in overrides.iter().enumerate() {
        let field = format!("reminders.overrides[{i}]");
        let Value::Object(o) = o else {
            return Err(bad(format!("{field} must be an object")));
        };
        if let Some(k) = o.keys().find(|k| *k != "method" && *k != "minutes") {
            crate::routes::input::text(&field, k)?;
            return Err(bad(format!(
                "{field}.{k}: unknown field (use method and minutes)"
            )));
        }
        match o.get("method").and_then(Value::as_str) {
            Some("email" | "popup") => {}
            _ => {
                return Err(bad(format!(
                    "{field}.method must be \"email\" or \"popup\""
                )));
            }
        }
        match o.get("minutes").and_then(Value::as_u64) {
            Some(n) if n <= MAX_MINUTES => {}
            _ => {
                return Err(bad(format!(
                    "{field}.minutes must be an integer from 0 to {MAX_MINUTES}"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn googles_shape_is_accepted_and_anything_else_refused_naming_the_field() {
        for ok in [
            json!(null),
            json!({"useDefault": true}),
            json!({"useDefault": false, "overrides": []}),
            json!({"useDefault": false, "overrides": [{"method": "popup", "minutes": 0},
                                                    {"method": "email", "minutes": 40320}]}),
        ] {
            check(&ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, field) in [
            (json!("soon"), "reminders"),
            (json!({"useDefault": "yes"}), "reminders.useDefault"),
            (json!({"usedefault": true}), "reminders.usedefault"),
            (json!({"overrides": {}}), "reminders.overrides"),
            (json!({"overrides": [1]}), "reminders.overrides[0]"),
            (
                json!({"overrides": [{"method": "sms", "minutes": 5}]}),
                "reminders.overrides[0].method",
            ),
            (
                json!({"overrides": [{"method": "popup", "minutes": 40321}]}),
                "reminders.overrides[0].minutes",
            ),
            (
                json!({"overrides": [{"method": "popup", "minutes": -1}]}),
                "reminders.overrides[0].minutes",
            ),
            (
                json!({"overrides": [{"method": "popup", "minutes": 1.5}]}),
                "reminders.overrides[0].minutes",
            ),
            (
                json!({"overrides": [{"method": "popup", "minutes": 5, "x": 1}]}),
                "reminders.overrides[0].x",
            ),
            (
                json!({"overrides": vec![json!({"method": "popup", "minutes": 5}); 6]}),
                "reminders.overrides",
            ),
            (
                json!({"useDefault": true, "overrides": [{"method": "popup", "minutes": 5}]}),
                "reminders.overrides",
            ),
        ] {
            let e = check(&bad).expect_err("refused").to_string();
            assert!(e.starts_with(field), "{bad}: {e}");
        }
    }
}
