//! Environment overrides: the fixed variable names of the contract, plus `CALSYNC__SECTION__KEY` for any other setting.

use serde_yaml_ng::{Mapping, Value};

/// Fixed names (the seed's and the contract's) and the setting each overrides.
pub(crate) const FIXED: &[(&str, &[&str])] = &[
    ("DATABASE_URL", &["database", "url"]),
    ("REDIS_URL", &["redis", "url"]),
    (
        "GOOGLE_CLIENT_SECRET_PATH",
        &["google", "client_secret_path"],
    ),
    ("GOOGLE_CALENDAR_TOKEN_PATH", &["google", "token_path"]),
    (
        "GOOGLE_CALENDAR_TOKEN_ENC_PATH",
        &["google", "token_enc_path"],
    ),
    (
        "GOOGLE_SERVICE_ACCOUNT_KEY_PATH",
        &["google", "service_account_key_path"],
    ),
    ("GOOGLE_IMPERSONATE_USER", &["google", "impersonate_user"]),
    ("GOOGLE_API_BASE_URL", &["google", "api_base_url"]),
    ("GOOGLE_TOKEN_URL", &["google", "token_url"]),
    ("WEBHOOK_PUBLIC_URL", &["server", "public_url"]),
    ("BIND_ADDRESS", &["server", "bind_address"]),
    ("ADMIN_JWT_SECRET", &["admin", "jwt_secret"]),
    ("CHANNEL_TOKEN_SECRET", &["admin", "channel_token_secret"]),
    ("TELEGRAM_BOT_TOKEN", &["telegram", "bot_token"]),
    ("TELEGRAM_CHAT_ID", &["telegram", "chat_id"]),
    ("TELEGRAM_API_BASE_URL", &["telegram", "api_base_url"]),
    ("CALSYNC_SECRET_KEY", &["secrets", "key"]),
    ("CALSYNC_SECRET_KEY_FILE", &["secrets", "key_file"]),
    ("CALSYNC_SECRET_KEY_PREVIOUS", &["secrets", "previous_keys"]),
];

/// Prefix of the generic overrides: `CALSYNC__PUSH__RENEW_MARGIN_SECS=3600`.
const GENERIC_PREFIX: &str = "CALSYNC__";

/// A setting an environment variable gave: its dotted key (`database.max_connections`) and the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Override {
    pub key: String,
    pub variable: String,
}

/// Applies every override found in `vars` to the parsed YAML tree; returns what each one set, so an
/// error in a value can name the variable it came from rather than the file.
pub(crate) fn apply(root: &mut Value, vars: &[(String, String)]) -> Vec<Override> {
    let mut applied = Vec::new();
    for (name, value) in vars {
        let (path, value): (Vec<String>, Value) =
            if let Some((_, path)) = FIXED.iter().find(|(n, _)| n == name) {
                // Fixed variables are strings as given (a numeric chat id stays text).
                let path = path.iter().map(|k| (*k).to_string()).collect();
                (path, Value::String(value.clone()))
            } else if let Some(rest) = name.strip_prefix(GENERIC_PREFIX) {
                let path = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
                (path, scalar(value))
            } else {
                continue;
            };
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        set(root, &refs, value);
        applied.push(Override {
            key: path.join("."),
            variable: name.clone(),
        });
    }
    applied
}

/// An override's value read as a YAML scalar (`30`, `true`, `null`), or text when it is not one.
fn scalar(raw: &str) -> Value {
    match serde_yaml_ng::from_str::<Value>(raw) {
        Ok(v @ (Value::Bool(_) | Value::Number(_) | Value::Null)) => v,
        _ => Value::String(raw.to_string()),
    }
}

fn set(root: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = root;
    for key in parents {
        if !matches!(node, Value::Mapping(_)) {
            *node = Value::Mapping(Mapping::new());
        }
        let Value::Mapping(map) = node else { return };
        node = map
            .entry(Value::String((*key).to_string()))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if node.is_null() {
            *node = Value::Mapping(Mapping::new());
        }
    }
    if !matches!(node, Value::Mapping(_)) {
        *node = Value::Mapping(Mapping::new());
    }
    if let Value::Mapping(map) = node {
        map.insert(Value::String((*last).to_string()), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_generic_overrides_land_on_their_keys() {
        let mut root: Value = serde_yaml_ng::from_str("database: {url: a}\n").unwrap();
        let applied = apply(
            &mut root,
            &[
                ("DATABASE_URL".into(), "postgres://x".into()),
                ("CALSYNC__PUSH__RENEW_MARGIN_SECS".into(), "60".into()),
                ("TELEGRAM_CHAT_ID".into(), "12345".into()),
                ("UNRELATED".into(), "1".into()),
            ],
        );
        assert_eq!(
            root["database"]["url"],
            Value::String("postgres://x".into())
        );
        assert_eq!(root["push"]["renew_margin_secs"], Value::Number(60.into()));
        assert_eq!(root["telegram"]["chat_id"], Value::String("12345".into()));
        assert!(root.get("unrelated").is_none());
        let keys: Vec<(&str, &str)> = applied
            .iter()
            .map(|o| (o.key.as_str(), o.variable.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("database.url", "DATABASE_URL"),
                ("push.renew_margin_secs", "CALSYNC__PUSH__RENEW_MARGIN_SECS"),
                ("telegram.chat_id", "TELEGRAM_CHAT_ID"),
            ]
        );
    }
}
