//! Reads the config file, applies the environment and validates the result.

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

use super::{ConfigError, DEFAULT_CONFIG_PATH, Settings, env, validate};

/// The config path: the explicit one, else `CALENDAR_CONFIG_PATH`, else the default.
pub fn config_path(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("CALENDAR_CONFIG_PATH").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH))
}

/// Loads the settings from the file and the process environment, validated.
pub fn load(explicit: Option<&Path>) -> Result<Settings, ConfigError> {
    let path = config_path(explicit);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ConfigError::new(
            "CALENDAR_CONFIG_PATH",
            format!("cannot read config file {}: {e}", path.display()),
        )
    })?;
    let vars: Vec<(String, String)> = std::env::vars().collect();
    load_from_str(&text, &vars)
}

/// Parses `text`, applies `vars` as environment overrides, and validates.
pub fn load_from_str(text: &str, vars: &[(String, String)]) -> Result<Settings, ConfigError> {
    let mut root: Value = serde_yaml_ng::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
            .unwrap_or_default();
        ConfigError::new("yaml", format!("unreadable YAML{at}: {e}"))
    })?;
    if root.is_null() {
        root = Value::Mapping(Default::default());
    }
    env::apply(&mut root, vars);
    let settings: Settings = serde_yaml_ng::from_value(root).map_err(|e| {
        let message = e.to_string();
        let key = message
            .split_once(": ")
            .map(|(k, _)| k.to_string())
            .filter(|k| !k.contains(' '))
            .unwrap_or_else(|| "config".into());
        ConfigError::new(key, message)
    })?;
    validate::validate(&settings)?;
    Ok(settings)
}
