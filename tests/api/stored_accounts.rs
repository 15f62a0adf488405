//! Accounts connected with `calsync auth login --account NAME`: the token document is sealed in
//! PostgreSQL under `CALSYNC_SECRET_KEY` (a `pg_dump` shows no token), `calsync serve` syncs with it
//! and refreshes through it, `calsync secrets rotate` reseals it under a new key while a server
//! keeps syncing, and a missing key, a wrong key or a tampered row stop startup with exit code 2.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use calsync::secrets::at_rest::{SealedSecret, SecretKeys, new_key};
use calsync_testkit::{CALENDARS, Google, SAMPLE_CONFIG, create_database, free_port, wait_for};
use serde_json::{Value, json};

use crate::auth_login::{command, consent, finish, start_login_with};

const ACCOUNT: &str = "labo";

struct Setup {
    google: Google,
    dir: PathBuf,
    db_url: String,
    db_name: String,
    pool: sqlx::PgPool,
}

/// The emulator, a fresh database, and the sample config with every calendar in account `labo`.
async fn setup() -> Setup {
    let google = Google::start().await;
    let dir = std::env::temp_dir().join(format!("calsync-acct-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = String::new();
    for line in SAMPLE_CONFIG.lines() {
        config.push_str(line);
        config.push('\n');
        if let Some(indent) = line.strip_suffix(line.trim_start())
            && line.trim_start().starts_with("casquette:")
        {
            config.push_str(&format!("{indent}account: \"{ACCOUNT}\"\n"));
        }
    }
    assert_eq!(config.matches("account: \"labo\"").count(), 3, "{config}");
    std::fs::write(dir.join("calendar_config.yaml"), config).unwrap();
    let (db_url, db_name) = create_database().await;
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    Setup {
        google,
        dir,
        db_url,
        db_name,
        pool,
    }
}

/// The environment of every command: no token file exists; the keys are `keys` (current first).
fn env(s: &Setup, keys: &[&str]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = s
        .google
        .env()
        .into_iter()
        .filter(|(k, _)| k != "GOOGLE_CALENDAR_TOKEN_PATH")
        .collect();
    let mut put = |k: &str, v: String| env.push((k.into(), v));
    put(
        "GOOGLE_CALENDAR_TOKEN_PATH",
        s.dir.join("no-token-file.json").display().to_string(),
    );
    put(
        "CALENDAR_CONFIG_PATH",
        s.dir.join("calendar_config.yaml").display().to_string(),
    );
    put("HOME", s.dir.display().to_string());
    put("DATABASE_URL", s.db_url.clone());
    put("REDIS_URL", calsync_testkit::REDIS_URL.clone());
    put(
        "RUST_LOG",
        std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into()),
    );
    if let Some(current) = keys.first() {
        put("CALSYNC_SECRET_KEY", current.to_string());
    }
    if keys.len() > 1 {
        put("CALSYNC_SECRET_KEY_PREVIOUS", keys[1..].join(","));
    }
    env
}

async fn run(args: &[&str], env: &[(String, String)]) -> (i32, String, String) {
    let out = tokio::time::timeout(Duration::from_secs(60), command(args, env).output())
        .await
        .expect("the command ends")
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `calsync serve` with these keys on a free port (push on, to the emulator).
fn serve(s: &Setup, keys: &[&str]) -> tokio::process::Child {
    let port = free_port();
    let mut env = env(s, keys);
    env.extend([
        ("BIND_ADDRESS".into(), format!("127.0.0.1:{port}")),
        (
            "WEBHOOK_PUBLIC_URL".into(),
            format!("http://127.0.0.1:{port}"),
        ),
        (
            "CHANNEL_TOKEN_SECRET".into(),
            "acct-test-channel-secret-0123456789abcdef".into(),
        ),
        (
            "ADMIN_JWT_SECRET".into(),
            "acct-test-admin-secret-0123456789abcdef".into(),
        ),
        ("CALSYNC__SERVER__SHUTDOWN_GRACE_SECS".into(), "1".into()),
    ]);
    command(&["serve"], &env)
        .stdout(if std::env::var_os("TEST_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `calsync serve` that must stop at startup with exit code 2; its stderr.
async fn refused(s: &Setup, keys: &[&str]) -> String {
    let out = serve(s, keys).wait_with_output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    err
}

async fn stop(mut child: tokio::process::Child) {
    let _ = child.start_kill();
    let _ = child.wait().await;
}

/// `calsync auth login --account labo` through the emulator's consent screen.
async fn connect(s: &Setup, key: &str) -> String {
    let login = start_login_with(&["auth", "login", "--account", ACCOUNT], &env(s, &[key])).await;
    let location = consent(&login.url).await;
    assert_eq!(reqwest::get(&location).await.unwrap().status(), 200);
    let (code, stdout, stderr) = finish(login).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    stdout
}

async fn stored(s: &Setup) -> SealedSecret {
    let (key_id, nonce, ciphertext): (String, Vec<u8>, Vec<u8>) = sqlx::query_as(
        "SELECT secret_key_id, secret_nonce, credentials FROM accounts WHERE name = $1",
    )
    .bind(ACCOUNT)
    .fetch_one(&s.pool)
    .await
    .unwrap();
    SealedSecret {
        key_id,
        nonce,
        ciphertext,
    }
}

fn ring(keys: &[&str]) -> SecretKeys {
    let previous: Vec<String> = keys[1..].iter().map(|k| k.to_string()).collect();
    SecretKeys::from_sources(Some(keys[0]), None, &previous).unwrap()
}

async fn change_synced(s: &Setup, summary: &str) {
    s.google
        .control(
            "POST",
            &format!("/emulator/calendars/{}/events", CALENDARS[0]),
            json!({"summary": summary, "start": {"dateTime": "2030-03-03T10:00:00Z"},
                   "end": {"dateTime": "2030-03-03T11:00:00Z"}}),
        )
        .await;
    wait_for(
        &format!("{summary:?} synced"),
        Duration::from_secs(30),
        || async {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events WHERE summary = $1")
                .bind(summary)
                .fetch_one(&s.pool)
                .await
                .unwrap_or(0)
                == 1
        },
    )
    .await;
}

/// Google forgets every access token: the next call gets 401 and calsync refreshes.
async fn expire_access_tokens(s: &Setup) {
    s.google
        .control("POST", "/emulator/tokens/expire", json!({}))
        .await;
}

fn pg_dump(s: &Setup) -> String {
    calsync_testkit::pg_dump(&s.db_name)
}

#[tokio::test]
async fn a_connected_account_is_sealed_in_postgres_and_keeps_syncing_across_a_key_rotation() {
    let s = setup().await;
    let (k1, k2) = (new_key(), new_key());
    let (id1, id2) = (
        ring(&[&k1]).current_id().to_string(),
        ring(&[&k2]).current_id().to_string(),
    );

    let said = connect(&s, &k1).await;
    assert!(
        said.contains(&format!("Account {ACCOUNT} connected")),
        "{said}"
    );
    assert!(said.contains(&id1), "{said}");
    let sealed = stored(&s).await;
    assert_eq!(sealed.key_id, id1);
    let document: Value =
        serde_json::from_slice(&ring(&[&k1]).open(ACCOUNT, &sealed).unwrap()).unwrap();
    let refresh = document["refresh_token"].as_str().unwrap().to_string();
    assert!(refresh.len() > 10, "{document}");

    // The dump holds the account, not its tokens.
    let dump = pg_dump(&s);
    assert!(
        dump.contains(ACCOUNT) && dump.contains(&id1),
        "the row is in the dump"
    );
    assert!(
        !dump.contains(&refresh),
        "refresh token in clear in pg_dump"
    );
    let access = document["token"].as_str().unwrap();
    assert!(!dump.contains(access), "access token in clear in pg_dump");

    let (code, listed, _) = run(&["accounts", "list"], &env(&s, &[&k1])).await;
    assert_eq!(code, 0);
    let row = listed
        .lines()
        .find(|l| l.starts_with(ACCOUNT))
        .unwrap_or("");
    assert!(
        row.contains(&id1) && row.trim_end().ends_with('3'),
        "{listed}"
    );
    assert!(!listed.contains(&refresh));

    // Serve with the stored account; a forced refresh goes through it.
    let server = serve(&s, &[&k1]);
    change_synced(&s, "with the stored account").await;
    expire_access_tokens(&s).await;
    change_synced(&s, "after a refresh").await;
    stop(server).await;

    // Rotation: replicas first run with the new key current and the old one previous.
    let server = serve(&s, &[&k2, &k1]);
    change_synced(&s, "new key current, row under the old").await;
    let (code, out, err) = run(&["secrets", "rotate"], &env(&s, &[&k2, &k1])).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "1 account(s) resealed under key {id2}, 0 already under it"
        )),
        "{out}"
    );
    assert_eq!(stored(&s).await.key_id, id2);
    assert!(!pg_dump(&s).contains(&refresh));
    expire_access_tokens(&s).await;
    change_synced(&s, "after the rotation, same server").await;
    stop(server).await;
    // Again: nothing left to reseal.
    let (code, out, _) = run(&["secrets", "rotate"], &env(&s, &[&k2])).await;
    assert_eq!(code, 0);
    assert!(out.contains("0 account(s) resealed"), "{out}");

    // The old key is dropped: the new one alone serves; the old one alone is refused, by key id.
    let server = serve(&s, &[&k2]);
    expire_access_tokens(&s).await;
    change_synced(&s, "new key alone").await;
    stop(server).await;
    let err = refused(&s, &[&k1]).await;
    assert!(
        err.contains(&format!(
            "account {ACCOUNT}: stored credentials sealed under key {id2}, which is not configured (current key {id1})"
        )),
        "{err}"
    );
    assert!(!err.contains(&refresh) && !err.contains(&k1));
}

#[tokio::test]
async fn a_tampered_row_a_missing_key_or_no_account_stop_startup_with_exit_code_2() {
    let s = setup().await;
    let key = new_key();
    let id = ring(&[&key]).current_id().to_string();

    // Not connected yet.
    let err = refused(&s, &[&key]).await;
    assert!(
        err.contains(&format!(
            "account {ACCOUNT}: not connected: run `calsync auth login --account {ACCOUNT}`"
        )),
        "{err}"
    );

    connect(&s, &key).await;
    // No key at all: refused before anything starts.
    let err = refused(&s, &[]).await;
    assert!(err.contains("CALSYNC_SECRET_KEY"), "{err}");
    // Not a key.
    let err = refused(&s, &["hunter2"]).await;
    assert!(err.contains("not a secret key"), "{err}");

    // One bit of the ciphertext flipped.
    sqlx::query(
        "UPDATE accounts SET credentials = set_byte(credentials, 0, get_byte(credentials, 0) # 1) WHERE name = $1",
    )
    .bind(ACCOUNT)
    .execute(&s.pool)
    .await
    .unwrap();
    let err = refused(&s, &[&key]).await;
    assert!(
        err.contains(&format!(
            "account {ACCOUNT}: stored credentials does not open under key {id}: the stored value was changed"
        )),
        "{err}"
    );
    // A rotation refuses to go on and changes nothing.
    let before = stored(&s).await;
    let (code, _, err) = run(&["secrets", "rotate"], &env(&s, &[&new_key(), &key])).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nothing was rotated"), "{err}");
    assert_eq!(stored(&s).await, before);

    // Removed: the account is gone from the list.
    let (code, out, _) = run(&["accounts", "remove", ACCOUNT], &env(&s, &[&key])).await;
    assert_eq!(code, 0, "{out}");
    let (_, listed, _) = run(&["accounts", "list"], &env(&s, &[&key])).await;
    assert!(listed.starts_with("no connected account"), "{listed}");
}
