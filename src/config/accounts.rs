//! Google accounts in the config: the top-level `accounts:` map (name → credentials), the implicit
//! `default` account made from the `google:` settings, and which account serves each calendar.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Deserialize;

use super::{CalendarSettings, ConfigError, GoogleSettings, Settings};

/// The account of a calendar that names none: the `google:` credential settings
/// (`GOOGLE_CALENDAR_TOKEN_PATH` and the rest), so single-account configs work unchanged.
pub const DEFAULT_ACCOUNT: &str = "default";

/// One account's credentials in the YAML (exactly one kind). An account a calendar names that is
/// not in `accounts:` is a connected one, its credentials sealed in PostgreSQL.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// A google-auth `authorized_user` token file.
    pub token_path: Option<PathBuf>,
    /// The same, SOPS-encrypted (age), written back encrypted.
    pub token_enc_path: Option<PathBuf>,
    /// A service-account key (JWT-bearer grant), with the user it impersonates.
    pub service_account_key_path: Option<PathBuf>,
    pub impersonate_user: Option<String>,
    /// This account's requests per minute (Google's per-user quota); `google.requests_per_minute`
    /// when unset.
    pub requests_per_minute: Option<u32>,
}

/// Where an account's credentials come from.
#[derive(Debug, Clone)]
pub enum AccountSource {
    /// Files named in the settings: the `google:` section, with the account's own paths in it.
    Files(Box<GoogleSettings>),
    /// Connected (`calsync auth login --account`, the connect flow): sealed in PostgreSQL.
    Stored,
}

impl Settings {
    /// The account that serves `cal`.
    pub fn account_of<'a>(&self, cal: &'a CalendarSettings) -> &'a str {
        cal.account.as_deref().unwrap_or(DEFAULT_ACCOUNT)
    }

    /// The accounts the configured calendars use, and those declared in `accounts:`.
    pub fn configured_accounts(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.accounts.keys().cloned().collect();
        for cal in &self.google_calendar.calendars {
            names.insert(self.account_of(cal).to_string());
        }
        names
    }

    /// How many configured calendars `account` serves.
    pub fn calendars_of(&self, account: &str) -> usize {
        self.google_calendar
            .calendars
            .iter()
            .filter(|c| self.account_of(c) == account)
            .count()
    }

    /// The connected accounts (sealed in PostgreSQL) the configured calendars name.
    pub fn stored_accounts(&self) -> Vec<String> {
        self.configured_accounts()
            .into_iter()
            .filter(|a| matches!(self.account_source(a), AccountSource::Stored))
            .collect()
    }

    /// The configured calendar `google_id` of `account`.
    pub fn calendar_in(&self, account: &str, google_id: &str) -> Option<&CalendarSettings> {
        self.google_calendar
            .calendars
            .iter()
            .find(|c| c.id == google_id && self.account_of(c) == account)
    }

    /// Where `account`'s credentials come from.
    pub fn account_source(&self, account: &str) -> AccountSource {
        if let Some(a) = self.accounts.get(account) {
            let mut g = self.google.clone();
            g.token_path = a.token_path.clone();
            g.token_enc_path = a.token_enc_path.clone();
            g.service_account_key_path = a.service_account_key_path.clone();
            g.impersonate_user = a.impersonate_user.clone();
            if let Some(rpm) = a.requests_per_minute {
                g.requests_per_minute = rpm;
            }
            return AccountSource::Files(Box::new(g));
        }
        if account == DEFAULT_ACCOUNT {
            return AccountSource::Files(Box::new(self.google.clone()));
        }
        AccountSource::Stored
    }
}

/// The rules of `accounts:` and of each calendar's `account:`.
pub(crate) fn validate(s: &Settings) -> Result<(), ConfigError> {
    for (name, a) in &s.accounts {
        let at = |field: &str| format!("accounts.{name}.{field}");
        if !crate::accounts::valid_name(name) {
            return Err(ConfigError::new(
                format!("accounts.{name}"),
                format!("is not an account name ({})", crate::accounts::NAME_RULE),
            ));
        }
        let kinds = [
            a.token_path.is_some(),
            a.token_enc_path.is_some(),
            a.service_account_key_path.is_some(),
        ];
        match kinds.iter().filter(|k| **k).count() {
            0 => {
                return Err(ConfigError::new(
                    format!("accounts.{name}"),
                    "needs one credential: token_path, token_enc_path or service_account_key_path \
                     (an account connected with `calsync auth login --account` is not listed here)",
                ));
            }
            1 => {}
            _ => {
                return Err(ConfigError::new(
                    format!("accounts.{name}"),
                    "has more than one credential: give one of token_path, token_enc_path, service_account_key_path",
                ));
            }
        }
        if a.impersonate_user.is_some() && a.service_account_key_path.is_none() {
            return Err(ConfigError::new(
                at("impersonate_user"),
                "only applies to a service account (service_account_key_path)",
            ));
        }
        if a.requests_per_minute == Some(0) {
            return Err(ConfigError::new(
                at("requests_per_minute"),
                "must be at least 1",
            ));
        }
    }
    let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, cal) in s.google_calendar.calendars.iter().enumerate() {
        let at = |field: &str| format!("google_calendar.calendars[{i}].{field}");
        match &cal.account {
            Some(account) if !crate::accounts::valid_name(account) => {
                return Err(ConfigError::new(
                    at("account"),
                    format!(
                        "{account:?} is not an account name ({})",
                        crate::accounts::NAME_RULE
                    ),
                ));
            }
            None if !s.accounts.is_empty() => {
                return Err(ConfigError::new(
                    at("account"),
                    "is required when the config has an `accounts:` section (name the account whose credentials serve this calendar)",
                ));
            }
            _ => {}
        }
        if let Some(first) = seen.insert((s.account_of(cal), cal.id.as_str()), i) {
            return Err(ConfigError::new(
                at("id"),
                format!(
                    "duplicate calendar id {:?} in account {} (already used by google_calendar.calendars[{first}])",
                    cal.id,
                    s.account_of(cal)
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::load_from_str;

    fn load(yaml: &str) -> Result<super::Settings, super::ConfigError> {
        load_from_str(yaml, &[])
    }

    const TWO: &str = "accounts:\n  hopital: {token_path: a.json}\n  labo: {service_account_key_path: sa.json, impersonate_user: x@lab.example}\n\
        google_calendar:\n  enabled: false\n  calendars:\n\
        \x20   - {id: primary, account: hopital, name: H, casquette: medecin}\n\
        \x20   - {id: primary, account: labo, name: L, casquette: chercheur}\n\
        \x20   - {id: primary, account: univ, name: U, casquette: enseignant}\n";

    #[test]
    fn two_accounts_may_both_have_primary() {
        let s = load(TWO).expect("valid");
        assert_eq!(
            s.configured_accounts().into_iter().collect::<Vec<_>>(),
            ["hopital", "labo", "univ"]
        );
        assert_eq!(
            s.stored_accounts(),
            ["univ"],
            "not in accounts: → connected"
        );
        match s.account_source("labo") {
            super::AccountSource::Files(g) => {
                assert_eq!(g.impersonate_user.as_deref(), Some("x@lab.example"));
                assert!(
                    g.token_path.is_none(),
                    "the default token path is not inherited"
                );
            }
            super::AccountSource::Stored => panic!("labo is in the YAML"),
        }
    }

    #[test]
    fn account_mistakes_name_their_key() {
        let dup = TWO.replace("account: labo", "account: hopital");
        let e = load(&dup).expect_err("duplicate");
        assert!(e.key.ends_with("calendars[1].id"), "{e}");
        let unnamed = TWO.replace("account: univ, ", "");
        let e = load(&unnamed).expect_err("unnamed");
        assert!(e.key.ends_with("calendars[2].account"), "{e}");
        let none = TWO.replace("{token_path: a.json}", "{}");
        let e = load(&none).expect_err("no credential");
        assert_eq!(e.key, "accounts.hopital", "{e}");
        let bad = TWO.replace("hopital", "Hopital");
        assert!(load(&bad).is_err());
    }

    #[test]
    fn a_config_without_accounts_is_the_default_account() {
        let s = load(
            "google_calendar:\n  enabled: false\n  calendars:\n    - {id: primary, name: P, casquette: medecin}\n",
        )
        .expect("valid");
        assert_eq!(
            s.configured_accounts().into_iter().collect::<Vec<_>>(),
            ["default"]
        );
        assert!(s.stored_accounts().is_empty());
    }
}
