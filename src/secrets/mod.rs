//! Secrets at rest: SOPS-encrypted files (the original daemon's `google_token.json.enc`), read and
//! written natively with age keys; and secrets stored in PostgreSQL, sealed under `CALSYNC_SECRET_KEY`.

pub mod age_keys;
pub mod at_rest;
pub mod error;
pub mod sops;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::age_keys::{AgeIdentities, from_sources};
    use super::sops::{Sealed, SopsError, open_with};

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sops")).join(name)
    }

    fn key(name: &str) -> AgeIdentities {
        from_sources(None, Some(fixture(name)), None).expect("identity")
    }

    /// Written by the real `sops` 3.11.0 (`sops -e --age … --input-type json --output-type json`).
    fn by_sops() -> String {
        std::fs::read_to_string(fixture("mixed.enc.json")).unwrap()
    }

    #[test]
    fn a_file_sops_encrypted_opens_with_its_mac_checked() {
        let (plain, sealed) = open_with(&by_sops(), &key("age-key.txt")).expect("opens");
        assert_eq!(
            plain,
            json!({"token": "ya29.abc", "refresh_token": "1//r", "expiry": "2026-12-02T03:00:00Z",
                   "scopes": ["https://www.googleapis.com/auth/calendar"], "n": 3, "f": 1.5,
                   "b": true, "nul": null, "nested": {"k": "v"}})
        );
        assert_eq!(sealed.recipients().len(), 1);
    }

    #[test]
    fn what_is_sealed_again_opens_for_the_same_key_with_the_new_values() {
        let (mut plain, sealed) = open_with(&by_sops(), &key("age-key.txt")).unwrap();
        plain["token"] = json!("ya29.new");
        let text = sealed.seal(&plain).unwrap();
        assert!(
            !text.contains("ya29.new") && !text.contains("1//r"),
            "{text}"
        );
        let (again, _) = open_with(&text, &key("age-key.txt")).unwrap();
        assert_eq!(again, plain);
    }

    #[test]
    fn the_wrong_key_names_the_recipients_the_file_expects() {
        let e = open_with(&by_sops(), &key("other-age-key.txt")).unwrap_err();
        let SopsError::WrongKey { expected, .. } = &e else {
            panic!("{e}")
        };
        assert!(expected.starts_with("age1"), "{e}");
        assert!(
            e.to_string()
                .starts_with("wrong key: no age identity given (SOPS_AGE_KEY_FILE="),
            "{e}"
        );
    }

    #[test]
    fn a_tampered_value_or_mac_is_a_mac_mismatch() {
        let text = by_sops();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        // Another value's ciphertext moved under `token`: each piece is valid, the path is not.
        let mut swapped = v.clone();
        swapped["token"] = v["refresh_token"].clone();
        let e = open_with(&swapped.to_string(), &key("age-key.txt")).unwrap_err();
        assert!(e.to_string().starts_with("MAC mismatch"), "{e}");
        // The MAC of another time.
        let mut stale = v.clone();
        stale["sops"]["lastmodified"] = json!("2020-01-01T00:00:00Z");
        let e = open_with(&stale.to_string(), &key("age-key.txt")).unwrap_err();
        assert!(e.to_string().starts_with("MAC mismatch"), "{e}");
    }

    #[test]
    fn keys_other_than_age_are_refused_by_name() {
        let text = json!({"token": "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]",
            "sops": {"pgp": [{"fp": "ABCD"}], "mac": "x", "lastmodified": "2026-01-01T00:00:00Z"}});
        let e = open_with(&text.to_string(), &key("age-key.txt")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "only age keys are supported; this file is encrypted with pgp"
        );
    }

    #[test]
    fn no_identity_anywhere_says_where_sops_looks() {
        let e = from_sources(None, None, Some(PathBuf::from("/nonexistent/keys.txt")))
            .err()
            .expect("no identity");
        assert_eq!(
            e.to_string(),
            "no age identity: set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY (sops's default /nonexistent/keys.txt does not exist)"
        );
    }

    #[test]
    fn a_new_file_for_a_recipient_opens_with_its_identity() {
        let identity = std::fs::read_to_string(fixture("other-age-key.txt")).unwrap();
        let recipient = identity
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap()
            .to_string();
        let sealed = Sealed::for_recipients(&[recipient]).unwrap();
        let plain = json!({"refresh_token": "1//x", "n": 2, "ok": false});
        let text = sealed.seal(&plain).unwrap();
        let ids = from_sources(Some(&identity), None, None).unwrap();
        assert_eq!(open_with(&text, &ids).unwrap().0, plain);
    }
}
