//! YAML text → `calsync::config::load_from_str` (non-UTF-8 input is skipped).
//!
//! Always called with no environment (`&[]`). Lines of the form
//! `#ENV NAME=value` (YAML comments, so the document is unchanged) are also
//! collected into a variable list and the text is loaded a second time with
//! it, which exercises the environment overrides (`DATABASE_URL`,
//! `CALSYNC__SECTION__KEY`, ...).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = calsync::config::load_from_str(text, &[]);
    if let Err(e) = &first {
        assert!(!e.key.is_empty());
    }
    let vars: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#ENV "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if !vars.is_empty() {
        let _ = calsync::config::load_from_str(text, &vars);
    }
});
