//! Admin tokens: a maximum lifetime, `nbf`, revocation (an instant and a `jti` deny list), failed
//! sign-ins limited per address and logged without the token, the status page's Origin check
//! against the public URL, and no client value in the logs of a 400.

use std::time::Duration;

use calsync_testkit::{SAMPLE_CONFIG, TestApp, create_database, spawn_app_with, wait_for};
use serde_json::{Value, json};

const SECRET: &str = "test-admin-secret-0123456789abcdef";

fn signed(claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn claims(iat: i64, exp: i64) -> Value {
    json!({"sub": "t", "iat": iat, "exp": exp, "scope": calsync::admin_auth::ADMIN_SCOPE})
}

async fn status_with(app: &TestApp, token: &str) -> u16 {
    app.client
        .get(format!("{}/api/v1/conflicts", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_token_for_the_year_9999_or_not_yet_valid_is_refused_by_default() {
    let app = spawn_app_with(&[]).await;
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        status_with(&app, &signed(claims(now, now + 600))).await,
        200
    );
    let mut early = claims(now, now + 600);
    early["nbf"] = json!(now + 86_400);
    for token in [signed(claims(now, 253_402_300_799)), signed(early)] {
        assert_eq!(status_with(&app, &token).await, 401);
    }
}

#[tokio::test]
async fn lifetimes_nbf_and_revocations_are_enforced() {
    let now = chrono::Utc::now().timestamp();
    let cutoff = chrono::DateTime::from_timestamp(now - 60, 0)
        .unwrap()
        .to_rfc3339();
    let app = TestApp::builder()
        .with_settings(|s| {
            s.admin.token_max_ttl_secs = 86400;
            s.admin.tokens_not_before = Some(cutoff.clone());
            s.admin.revoked_token_ids = vec!["lost-laptop".into(), "old-n8n".into()];
        })
        .spawn()
        .await;
    let fresh = signed(claims(now, now + 600));
    assert_eq!(status_with(&app, &fresh).await, 200);
    for (what, token) in [
        (
            "expiring in the year 9999",
            signed(claims(now, 253_402_300_799)),
        ),
        ("two days long", signed(claims(now, now + 2 * 86_400))),
        ("not valid before tomorrow", {
            let mut c = claims(now, now + 600);
            c["nbf"] = json!(now + 86_400);
            signed(c)
        }),
        (
            "issued before the cutoff",
            signed(claims(now - 3600, now + 600)),
        ),
        ("on the deny list", {
            let mut c = claims(now, now + 600);
            c["jti"] = json!("old-n8n");
            signed(c)
        }),
    ] {
        assert_eq!(status_with(&app, &token).await, 401, "{what}");
    }
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_address() {
    // The default: 10 failures per address and minute.
    let app = spawn_app_with(&[]).await;
    for _ in 0..10 {
        assert_eq!(status_with(&app, "not-a-token").await, 401);
    }
    let good = calsync::admin_auth::mint(SECRET, "t", Duration::from_secs(600)).unwrap();
    let resp = app
        .client
        .get(format!("{}/api/v1/conflicts", app.address))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429, "even a good token waits out the minute");
    assert_eq!(resp.headers()["retry-after"], "60");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // The status page's form is limited too.
    let login = app
        .client
        .post(format!("{}/login", app.address))
        .form(&[("token", good.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 429);
}

#[tokio::test]
async fn the_resolve_form_checks_origin_against_the_public_url_scheme_included() {
    let app = spawn_app_with(&[("WEBHOOK_PUBLIC_URL", "https://calsync.example.org")]).await;
    let token = calsync::admin_auth::mint(SECRET, "t", Duration::from_secs(600)).unwrap();
    let post = |origin: &'static str, forwarded: &'static str| {
        app.client
            .post(format!(
                "{}/status/conflicts/{}/resolve",
                app.address,
                uuid::Uuid::new_v4()
            ))
            .bearer_auth(&token)
            .header("Origin", origin)
            .header("X-Forwarded-Host", forwarded)
            .form(&[("keep", "local")])
            .send()
    };
    // Cross-site, with a forged X-Forwarded-Host: refused.
    let r = post("https://evil.example", "evil.example").await.unwrap();
    assert_eq!(r.status(), 403);
    // The right host over the wrong scheme: refused.
    let r = post("http://calsync.example.org", "calsync.example.org")
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The public URL's origin: past the check (no such conflict).
    let r = post("https://calsync.example.org", "x").await.unwrap();
    assert_eq!(r.status(), 404);
}

/// Runs `calsync serve` with its logs (debug) in a file, not a pipe: nobody reads a pipe until the
/// end, and a full one would block the server's writes (the migrations alone log over 64 KB).
/// Returns its address, the child and the log file.
async fn serve() -> (String, tokio::process::Child, std::path::PathBuf) {
    let (db_url, _) = create_database().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("calsync-logs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("c.yaml");
    std::fs::write(&cfg, SAMPLE_CONFIG).unwrap();
    let log = dir.join("calsync.log");
    let out = std::fs::File::create(&log).unwrap();
    let err = out.try_clone().unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_calsync"))
        .arg("serve")
        .env_clear()
        .env("CALENDAR_CONFIG_PATH", &cfg)
        .env("DATABASE_URL", &db_url)
        .env("REDIS_URL", calsync_testkit::REDIS_URL.as_str())
        .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
        .env("ADMIN_JWT_SECRET", SECRET)
        .env("CALSYNC__GOOGLE_CALENDAR__ENABLED", "false")
        .env("CALSYNC__SERVER__WORKERS_ENABLED", "false")
        .env("CALSYNC__SERVER__SHUTDOWN_GRACE_SECS", "1")
        .env("RUST_LOG", "debug")
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let address = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_for(
        "calsync serve to start",
        Duration::from_secs(10),
        || async { http.get(format!("{address}/healthz")).send().await.is_ok() },
    )
    .await;
    (address, child, log)
}

#[tokio::test]
async fn refusals_and_400s_log_no_token_and_no_client_value() {
    let (address, mut child, log) = serve().await;
    let http = reqwest::Client::new();
    let forged = signed(claims(0, 1)).replace('.', ".x");
    let r = http
        .get(format!("{address}/api/v1/conflicts"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let good = calsync::admin_auth::mint(SECRET, "t", Duration::from_secs(600)).unwrap();
    let r = http
        .post(format!("{address}/api/v1/events"))
        .bearer_auth(&good)
        .json(
            &json!({"calendar_id": "patient.dupont@example.org", "summary": "x",
                      "start": {"date": "2026-02-17"}, "end": {"date": "2026-02-18"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = child.start_kill();
    let _ = child.wait().await;
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("admin sign-in refused"), "{logs}");
    // A refused token is routine (expired, mistyped): logged, but not as a warning, and no 4xx is.
    assert!(
        !logs.lines().any(|l| l.contains("WARN")),
        "no WARN line for 401s and 400s: {logs}"
    );
    let signature = forged.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature), "the token is never logged");
    assert!(
        !logs.contains("patient.dupont"),
        "client values stay out: {logs}"
    );
}

#[tokio::test]
async fn admin_token_refuses_a_lifetime_over_the_maximum() {
    let dir = std::env::temp_dir().join(format!("calsync-ttl-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("c.yaml");
    std::fs::write(&cfg, SAMPLE_CONFIG).unwrap();
    let run = |ttl: &'static str| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_calsync"));
        cmd.args(["admin-token", "--ttl", ttl])
            .env_clear()
            .env("CALENDAR_CONFIG_PATH", &cfg)
            .env("ADMIN_JWT_SECRET", SECRET)
            .env("CALSYNC__GOOGLE_CALENDAR__ENABLED", "false")
            .env("CALSYNC__ADMIN__TOKEN_MAX_TTL_SECS", "86400")
            .kill_on_drop(true);
        async move {
            tokio::time::timeout(Duration::from_secs(20), cmd.output())
                .await
                .unwrap()
                .unwrap()
        }
    };
    let refused = run("3650000d").await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("token_max_ttl_secs"), "{stderr}");
    let ok = run("1d").await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}
