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
    let overrides = env::apply(&mut root, vars);
    let settings: Settings =
        serde_path_to_error::deserialize(root).map_err(|e| shape_error(&e, text, &overrides))?;
    validate::validate(&settings).map_err(|e| name_variable(e, &overrides))?;
    Ok(settings)
}

/// A value of the wrong type or an unknown key, named by its full key path and by where it came
/// from: the environment variable that set it, or its line and column in the file.
fn shape_error(
    e: &serde_path_to_error::Error<serde_yaml_ng::Error>,
    text: &str,
    overrides: &[env::Override],
) -> ConfigError {
    let key = dotted(e.path());
    let cause = e.inner().to_string();
    if let Some(o) = overrides.iter().find(|o| o.key == key) {
        return ConfigError::new(
            key,
            format!("{cause} (from the environment variable {})", o.variable),
        );
    }
    // The merged tree has no positions: read the file alone again for the line and column, if the
    // same key fails there (a key only the environment completes fails elsewhere, or not at all).
    let at = serde_path_to_error::deserialize::<_, Settings>(
        serde_yaml_ng::Deserializer::from_str(text),
    )
    .err()
    .filter(|f| dotted(f.path()) == key)
    .and_then(|f| f.inner().location())
    .map(|l| {
        format!(
            " (line {}, column {} of the config file)",
            l.line(),
            l.column()
        )
    })
    .unwrap_or_default();
    ConfigError::new(key, format!("{}{at}", strip_location(&cause)))
}

/// `serde_path_to_error`'s path (`google_calendar.calendars[0].casquette`), `config` for the root.
fn dotted(path: &serde_path_to_error::Path) -> String {
    let p = path.to_string();
    if p == "." || p.is_empty() {
        "config".into()
    } else {
        p
    }
}

/// serde_yaml_ng may append its own ` at line L column C`; the message says it once, its own way.
fn strip_location(cause: &str) -> &str {
    cause.split(" at line ").next().unwrap_or(cause)
}

/// A rule broken by a value the environment gave names the variable too.
fn name_variable(mut e: ConfigError, overrides: &[env::Override]) -> ConfigError {
    // Keys of the fixed variables read `server.bind_address (BIND_ADDRESS)`.
    let key = e.key.split(' ').next().unwrap_or_default();
    if let Some(o) = overrides.iter().find(|o| o.key == key) {
        e.message = format!(
            "{} (from the environment variable {})",
            e.message, o.variable
        );
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "database:\n  url: postgres://x/y\n";

    fn error(text: &str, vars: &[(&str, &str)]) -> String {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        match load_from_str(text, &vars) {
            Ok(_) => panic!("{text:?} with {vars:?} loaded"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key_line_and_column() {
        let text = format!("{BASE}  max_connections: ten\n");
        assert_eq!(
            error(&text, &[]),
            "invalid configuration: database.max_connections: invalid type: string \"ten\", \
             expected u32 (line 3, column 20 of the config file)"
        );
    }

    #[test]
    fn an_unknown_key_names_its_section_line_and_column() {
        let text = format!("{BASE}server:\n  bind_adress: 0.0.0.0:8080\n");
        let e = error(&text, &[]);
        assert!(
            e.starts_with("invalid configuration: server.bind_adress: unknown field `bind_adress`, expected one of"),
            "{e}"
        );
        assert!(e.ends_with("(line 4, column 3 of the config file)"), "{e}");
    }

    #[test]
    fn a_bad_value_from_the_environment_names_the_variable_not_the_file() {
        let e = error(BASE, &[("CALSYNC__DATABASE__MAX_CONNECTIONS", "ten")]);
        assert_eq!(
            e,
            "invalid configuration: database.max_connections: invalid type: string \"ten\", \
             expected u32 (from the environment variable CALSYNC__DATABASE__MAX_CONNECTIONS)"
        );
    }

    #[test]
    fn a_typo_in_a_variable_name_is_reported_as_the_variable() {
        let e = error(BASE, &[("CALSYNC__SERVER__BIND_ADRESS", "0.0.0.0:1")]);
        assert!(
            e.starts_with("invalid configuration: server.bind_adress: unknown field `bind_adress`"),
            "{e}"
        );
        assert!(
            e.ends_with("(from the environment variable CALSYNC__SERVER__BIND_ADRESS)"),
            "{e}"
        );
    }

    #[test]
    fn a_rule_broken_by_a_variable_names_it() {
        let sample = include_str!("../../config/calendar_config.yaml");
        let e = error(sample, &[("BIND_ADDRESS", "not-an-address")]);
        assert!(
            e.starts_with("invalid configuration: server.bind_address "),
            "{e}"
        );
        assert!(
            e.ends_with("(from the environment variable BIND_ADDRESS)"),
            "{e}"
        );
    }
}
