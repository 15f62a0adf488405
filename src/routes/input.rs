//! Client text PostgreSQL cannot store (NUL, in `text` and in `jsonb`), refused with a 400 naming the field.

use serde_json::Value;

use crate::error::ApiError;

/// Refuses `value` when PostgreSQL could not store it; the message names `field`, never the value.
pub fn text(field: &str, value: &str) -> Result<(), ApiError> {
    if value.contains('\0') {
        return Err(ApiError::BadRequest(format!(
            "{field}: contains a NUL character, which cannot be stored"
        )));
    }
    Ok(())
}

/// [`text`] for an optional value.
pub fn opt_text(field: &str, value: Option<&str>) -> Result<(), ApiError> {
    value.map_or(Ok(()), |v| text(field, v))
}

/// [`text`] for every line of a list.
pub fn lines(field: &str, values: &[String]) -> Result<(), ApiError> {
    values
        .iter()
        .enumerate()
        .try_for_each(|(i, v)| text(&format!("{field}[{i}]"), v))
}

/// [`text`] for every key and string inside a JSON value (stored as `jsonb`).
pub fn json(field: &str, value: &Value) -> Result<(), ApiError> {
    match value {
        Value::String(s) => text(field, s),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| json(&format!("{field}[{i}]"), v)),
        Value::Object(m) => m.iter().try_for_each(|(k, v)| {
            text(field, k)?;
            json(&format!("{field}.{k}"), v)
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_is_refused_naming_the_field_not_the_value() {
        assert!(text("summary", "fine é").is_ok());
        let e = text("summary", "secret\0x").unwrap_err().to_string();
        assert!(e.starts_with("summary:") && !e.contains("secret"), "{e}");
        let e = json(
            "reminders",
            &json!({"overrides": [{"method": "po\u{0}pup"}]}),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("reminders.overrides[0].method:"), "{e}");
        let e = lines("recurrence", &["RRULE:FREQ=DAILY".into(), "RDATE\0".into()])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("recurrence[1]:"), "{e}");
    }
}
