//! The suite's world: three Google accounts (three users of the emulated Google), each with `primary` and
//! `roles` (the same Google ids in every account, so an event that crossed accounts lands on a calendar
//! that exists and the model check sees it), and the calsync config that serves them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One account: its name in calsync's config and its user at Google.
#[derive(Debug)]
pub struct Account {
    pub name: &'static str,
    pub email: &'static str,
}

pub const ACCOUNTS: [Account; 3] = [
    Account {
        name: "hopital",
        email: "doc@hopital.example",
    },
    Account {
        name: "univ",
        email: "prof@univ.example",
    },
    Account {
        name: "labo",
        email: "pi@labo.example",
    },
];

/// One calendar: its account (index into [`ACCOUNTS`]), its Google id and its key in calsync
/// (`<account>:<google id>`, the `calendar_id` of every table and of plain-SQL writes).
#[derive(Debug, PartialEq, Eq)]
pub struct Cal {
    pub account: usize,
    pub id: &'static str,
    pub key: &'static str,
    pub casquette: &'static str,
}

impl Cal {
    pub fn account(&self) -> &'static Account {
        &ACCOUNTS[self.account]
    }
}

const fn cal(account: usize, id: &'static str, key: &'static str, casquette: &'static str) -> Cal {
    Cal {
        account,
        id,
        key,
        casquette,
    }
}

/// Every calendar of the world, account by account.
pub const CALS: [Cal; 6] = [
    cal(0, "primary", "hopital:primary", "medecin"),
    cal(0, "roles", "hopital:roles", "chercheur"),
    cal(1, "primary", "univ:primary", "enseignant"),
    cal(1, "roles", "univ:roles", "chercheur"),
    cal(2, "primary", "labo:primary", "chercheur"),
    cal(2, "roles", "labo:roles", "medecin"),
];

/// The calendar of `key`, if the world has it.
pub fn by_key(key: &str) -> Option<&'static Cal> {
    CALS.iter().find(|c| c.key == key)
}

/// Writes the config (every account's token file in `tokens`, by account name) into `dir`; its path.
/// The rest comes from the environment the processes share (`process::shared_env`).
pub fn write_config(dir: &Path, tokens: &[PathBuf]) -> PathBuf {
    let mut yaml = String::from("accounts:\n");
    for (a, token) in ACCOUNTS.iter().zip(tokens) {
        let _ = writeln!(yaml, "  {}:\n    token_path: {:?}", a.name, token.display());
    }
    yaml.push_str("google_calendar:\n  enabled: true\n  sync_range: null\n  calendars:\n");
    for c in &CALS {
        let _ = writeln!(
            yaml,
            "    - {{id: {:?}, account: {}, name: {:?}, casquette: {}}}",
            c.id,
            c.account().name,
            c.key,
            c.casquette
        );
    }
    let path = dir.join("calendar_config.yaml");
    std::fs::write(&path, yaml).expect("the suite's config file");
    path
}
