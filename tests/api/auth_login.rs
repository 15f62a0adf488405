//! `calsync auth login|status` end to end against the emulator's authorization and token endpoints:
//! loopback redirect, pasted-back redirect (headless), refused consent, forged state, no secrets shown.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use calsync_testkit::{Google, SAMPLE_CONFIG};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdout};

const BIN: &str = env!("CARGO_BIN_EXE_calsync");

pub(crate) struct Login {
    child: Child,
    stdout: tokio::io::Lines<BufReader<ChildStdout>>,
    pub(crate) url: String,
}

pub(crate) fn setup(google: &Google) -> (PathBuf, Vec<(String, String)>) {
    let dir = std::env::temp_dir().join(format!("calsync-auth-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("calendar_config.yaml"), SAMPLE_CONFIG).unwrap();
    let token = dir.join("secrets").join("token.json");
    let mut env = google.env();
    env.retain(|(k, _)| k != "GOOGLE_CALENDAR_TOKEN_PATH");
    env.push((
        "GOOGLE_CALENDAR_TOKEN_PATH".into(),
        token.display().to_string(),
    ));
    env.push((
        "CALENDAR_CONFIG_PATH".into(),
        dir.join("calendar_config.yaml").display().to_string(),
    ));
    (token, env)
}

/// `calsync ARGS` in a clean environment of exactly `env`.
pub(crate) fn command(args: &[&str], env: &[(String, String)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args).env_clear().kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub(crate) async fn start_login(env: &[(String, String)]) -> Login {
    start_login_with(&["auth", "login"], env).await
}

/// `calsync ARGS` (an `auth login` variant), once it has printed the consent URL.
pub(crate) async fn start_login_with(args: &[&str], env: &[(String, String)]) -> Login {
    let mut child = command(args, env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if let Some(url) = line.trim().strip_prefix("http") {
                return format!("http{url}");
            }
        }
        panic!("login printed no URL");
    })
    .await
    .expect("the URL is printed at once");
    Login { child, stdout, url }
}

/// The browser: follows Google's consent screen up to (not into) the loopback redirect.
pub(crate) async fn consent(url: &str) -> String {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let resp = browser.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 302, "consent screen redirects back");
    resp.headers()["location"].to_str().unwrap().to_string()
}

pub(crate) async fn finish(mut login: Login) -> (i32, String, String) {
    let mut rest = String::new();
    while let Ok(Some(line)) =
        tokio::time::timeout(Duration::from_secs(20), login.stdout.next_line())
            .await
            .expect("login finishes")
    {
        rest.push_str(&line);
        rest.push('\n');
    }
    let out = tokio::time::timeout(Duration::from_secs(20), login.child.wait_with_output())
        .await
        .expect("login exits")
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        rest,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn login_through_the_loopback_redirect_writes_a_working_token_file() {
    let google = Google::start().await;
    let (token_path, env) = setup(&google);
    let login = start_login(&env).await;
    let url = url::Url::parse(&login.url).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        q["code_challenge"].len(),
        43,
        "BASE64URL(SHA-256) without padding"
    );
    assert_eq!(q["access_type"], "offline");
    assert!(q["scope"].contains("https://www.googleapis.com/auth/calendar"));
    let redirect_uri = url::Url::parse(&q["redirect_uri"]).unwrap();
    assert_eq!(redirect_uri.host_str(), Some("127.0.0.1"));
    assert_ne!(redirect_uri.port(), Some(0));

    let location = consent(&login.url).await;
    assert!(
        location.starts_with(q["redirect_uri"].as_str()),
        "{location}"
    );
    let page = reqwest::get(&location).await.unwrap();
    assert_eq!(page.status(), 200, "the loopback page thanks the user");
    let (code, stdout, stderr) = finish(login).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(calsync::emulator::dev_credentials::USER_EMAIL),
        "{stdout}"
    );

    assert_eq!(mode(&token_path), 0o600);
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&token_path).unwrap()).unwrap();
    for key in [
        "token",
        "refresh_token",
        "token_uri",
        "client_id",
        "client_secret",
        "expiry",
    ] {
        assert!(file[key].is_string(), "google-auth field {key}: {file}");
    }
    assert_eq!(
        file["account"],
        json!(calsync::emulator::dev_credentials::USER_EMAIL)
    );
    let refresh = file["refresh_token"].as_str().unwrap().to_string();
    let access = file["token"].as_str().unwrap().to_string();

    // The code is single use: the exchange must have consumed it.
    let code_param = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let replay = google
        .http
        .post(google.emu.token_url())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code_param.as_str()),
            ("client_id", calsync::emulator::dev_credentials::CLIENT_ID),
            (
                "client_secret",
                calsync::emulator::dev_credentials::CLIENT_SECRET,
            ),
            ("redirect_uri", q["redirect_uri"].as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);

    // Status: identity, scopes and expiry, checked live, and no secret on screen.
    google
        .control("POST", "/emulator/tokens/expire", json!({}))
        .await;
    let out = command(&["auth", "status"], &env).output().await.unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{shown}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        shown.contains(calsync::emulator::dev_credentials::USER_EMAIL),
        "{shown}"
    );
    assert!(
        shown.contains("https://www.googleapis.com/auth/calendar"),
        "{shown}"
    );
    assert!(
        shown.contains("valid until") && shown.contains("Google says"),
        "{shown}"
    );
    assert!(shown.contains("(mode 0600)"), "{shown}");
    for secret in [
        refresh.as_str(),
        access.as_str(),
        calsync::emulator::dev_credentials::CLIENT_SECRET,
    ] {
        assert!(!shown.contains(secret), "status must not print secrets");
    }
    // The expired access token was refreshed with the new refresh token and written back.
    let after: Value =
        serde_json::from_str(&std::fs::read_to_string(&token_path).unwrap()).unwrap();
    assert_ne!(after["token"], json!(access));
    assert_eq!(mode(&token_path), 0o600);
}

#[tokio::test]
async fn a_headless_login_takes_the_pasted_redirect_url() {
    let google = Google::start().await;
    let (token_path, env) = setup(&google);
    let mut login = start_login(&env).await;
    let location = consent(&login.url).await;
    // The loopback is unreachable from the user's browser: they paste the address instead.
    let mut stdin = login.child.stdin.take().unwrap();
    stdin
        .write_all(format!("{location}\n").as_bytes())
        .await
        .unwrap();
    let (code, stdout, stderr) = finish(login).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(token_path.exists());
    let out = command(&["auth", "status", "--offline"], &env)
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("refresh token: present"));
}

#[tokio::test]
async fn refused_consent_and_forged_state_fail_clearly_and_write_nothing() {
    let google = Google::start().await;
    let (token_path, env) = setup(&google);

    google
        .control("POST", "/emulator/oauth/consent", json!({"approve": false}))
        .await;
    let mut login = start_login(&env).await;
    let location = consent(&login.url).await;
    assert!(location.contains("error=access_denied"), "{location}");
    let mut stdin = login.child.stdin.take().unwrap();
    stdin
        .write_all(format!("{location}\n").as_bytes())
        .await
        .unwrap();
    let (code, _, stderr) = finish(login).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("access_denied"), "{stderr}");
    assert!(!token_path.exists());

    google
        .control("POST", "/emulator/oauth/consent", json!({"approve": true}))
        .await;
    let mut login = start_login(&env).await;
    let location = consent(&login.url).await;
    let forged = regex_replace_state(&location);
    let mut stdin = login.child.stdin.take().unwrap();
    stdin
        .write_all(format!("{forged}\n").as_bytes())
        .await
        .unwrap();
    let (code, _, stderr) = finish(login).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("state does not match"), "{stderr}");
    assert!(!token_path.exists());

    let out = command(&["auth", "status"], &env).output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("calsync auth login"));
}

fn regex_replace_state(location: &str) -> String {
    let mut url = url::Url::parse(location).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                "forged".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}
