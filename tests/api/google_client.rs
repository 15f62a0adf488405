//! The Google client against the emulator: single-flight token refresh, atomic token write-back,
//! revoked credentials, the service-account grant, and a Google that answers garbage.

use std::sync::Arc;

use calsync::google::{GoogleClient, GoogleError, ListParams};
use calsync_testkit::{Google, spawn_synced_app, syncer};
use serde_json::{Value, json};

fn settings(google: &Google, extra: &[(&str, &str)]) -> calsync::config::Settings {
    let mut vars: Vec<(String, String)> = google.env();
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    calsync_testkit::test_settings("postgres://postgres@127.0.0.1/unused", &refs)
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_for_many_concurrent_calls() {
    let google = Google::start().await;
    // An unknown field in the token file must survive the write-back.
    let token_path = google.creds.join("token.json");
    let mut file: Value =
        serde_json::from_str(&std::fs::read_to_string(&token_path).unwrap()).unwrap();
    file["universe_domain"] = json!("googleapis.com");
    std::fs::write(&token_path, file.to_string()).unwrap();

    let client = Arc::new(
        GoogleClient::from_settings(&settings(&google, &[]).google)
            .await
            .unwrap(),
    );
    client
        .list_events("primary", &ListParams::default())
        .await
        .unwrap();
    let tokens_before = google.count("token").await;
    google
        .control("POST", "/emulator/tokens/expire", json!({}))
        .await;

    let calls: Vec<_> = (0..20)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.list_events("primary", &ListParams::default()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(
        google.count("token").await - tokens_before,
        1,
        "one refresh for twenty callers"
    );

    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&token_path).unwrap()).unwrap();
    assert!(
        written["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("ya29."))
    );
    assert_eq!(written["universe_domain"], "googleapis.com");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[tokio::test]
async fn a_revoked_refresh_token_stops_syncing_with_one_clear_error() {
    let google = Google::start().await;
    let app = spawn_synced_app(&google, &[("CALSYNC__SERVER__WORKERS_ENABLED", "false")]).await;
    google
        .control("POST", "/emulator/refresh-tokens/revoke", json!({}))
        .await;
    let syncer = syncer(&app).await;
    let outcome = syncer
        .sync_calendar("primary", calsync::sync::Trigger::Manual, false)
        .await
        .unwrap();
    let calsync::sync::Outcome::Failed(err) = outcome else {
        panic!("must fail: {outcome:?}")
    };
    assert!(err.to_string().contains("invalid_grant"), "{err}");
    assert_eq!(
        google.count("token").await,
        2,
        "the test's own token + one refusal: no retry loop"
    );
    let reason: Option<String> =
        sqlx::query_scalar("SELECT error_reason FROM sync_state WHERE calendar_id = 'primary'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        reason.as_deref(),
        Some("invalid_grant"),
        "the calendar is paused, not retried"
    );
    // The worker's runs see the pause, and say so (not "busy").
    let push = syncer
        .sync_calendar("primary", calsync::sync::Trigger::Push, false)
        .await
        .unwrap();
    assert!(
        matches!(&push, calsync::sync::Outcome::Paused(r) if r == "invalid_grant"),
        "{push:?}"
    );
    assert_eq!(
        google.count("token").await,
        2,
        "a paused calendar costs no call"
    );
    // An explicit sync lifts the pause and tries again (here: still refused, paused again).
    let manual = syncer
        .sync_calendar("primary", calsync::sync::Trigger::Manual, false)
        .await
        .unwrap();
    assert!(
        matches!(manual, calsync::sync::Outcome::Failed(_)),
        "{manual:?}"
    );
    assert_eq!(
        google.count("token").await,
        3,
        "the explicit sync retried once"
    );
}

#[tokio::test]
async fn a_service_account_gets_tokens_through_a_signed_assertion() {
    let google = Google::start().await;
    let private = include_str!("../fixtures/sa_test_key.pem");
    let public = include_str!("../fixtures/sa_test_key.pub.pem");
    let email = "calsync-test@project.iam.gserviceaccount.com";
    google
        .control(
            "POST",
            "/emulator/service-accounts",
            json!({"client_email": email, "public_key_pem": public}),
        )
        .await;
    let key_path = google.creds.join("sa.json");
    std::fs::write(
        &key_path,
        json!({"type": "service_account", "client_email": email, "private_key": private,
               "private_key_id": "k1", "token_uri": google.emu.token_url()})
        .to_string(),
    )
    .unwrap();
    let path = key_path.display().to_string();
    let s = settings(
        &google,
        &[
            ("GOOGLE_SERVICE_ACCOUNT_KEY_PATH", &path),
            ("GOOGLE_IMPERSONATE_USER", "doc@example.org"),
        ],
    );
    let client = GoogleClient::from_settings(&s.google).await.unwrap();
    client
        .list_events("primary", &ListParams::default())
        .await
        .unwrap();

    // An assertion signed by a key the emulator does not know is refused.
    let other = google.creds.join("other.json");
    std::fs::write(
        &other,
        json!({"type": "service_account", "client_email": "intruder@x.iam.gserviceaccount.com", "private_key": private,
               "token_uri": google.emu.token_url()})
        .to_string(),
    )
    .unwrap();
    let path = other.display().to_string();
    let s = settings(&google, &[("GOOGLE_SERVICE_ACCOUNT_KEY_PATH", &path)]);
    let client = GoogleClient::from_settings(&s.google).await.unwrap();
    let err = client
        .list_events("primary", &ListParams::default())
        .await
        .unwrap_err();
    assert!(matches!(err, GoogleError::InvalidGrant), "{err:?}");
}

#[tokio::test]
async fn invalid_json_from_google_is_a_clear_error_not_a_panic() {
    use actix_web::{App, HttpResponse, HttpServer, web};
    // A misbehaving "Google": 200 with a body that is not an events page.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(|| {
        App::new()
            .route(
                "/token",
                web::post().to(|| async {
                    HttpResponse::Ok().json(json!({"access_token": "t", "expires_in": 3600}))
                }),
            )
            .default_service(web::to(|| async {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body("{\"items\": [oops")
            }))
    })
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    let google = Google::start().await;
    let base = format!("http://127.0.0.1:{port}/calendar/v3");
    let token_url = format!("http://127.0.0.1:{port}/token");
    let s = settings(
        &google,
        &[
            ("GOOGLE_API_BASE_URL", &base),
            ("GOOGLE_TOKEN_URL", &token_url),
        ],
    );
    let client = GoogleClient::from_settings(&s.google).await.unwrap();
    let err = client
        .list_events("primary", &ListParams::default())
        .await
        .unwrap_err();
    assert!(matches!(err, GoogleError::InvalidResponse(_)), "{err:?}");
    handle.stop(false).await;
}
