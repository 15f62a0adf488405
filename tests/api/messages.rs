//! What calsync says when something is missing or unreachable, word for word: Google transport
//! errors name the host and the cause, a missing token file points to `calsync auth login`, and a
//! call waiting out its backoff ends at shutdown.

use std::time::{Duration, Instant};

use calsync::google::{GoogleClient, ListParams};
use calsync_testkit::{Google, free_port};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn settings(google: &Google, extra: &[(&str, &str)]) -> calsync::config::Settings {
    let mut vars: Vec<(String, String)> = google.env();
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    calsync_testkit::test_settings("postgres://postgres@127.0.0.1/unused", &refs)
}

#[tokio::test]
async fn a_google_that_refuses_connections_is_named_by_host_and_cause() {
    let google = Google::start().await;
    let base = format!("http://127.0.0.1:{}/calendar/v3", free_port());
    let mut s = settings(&google, &[]).google;
    s.api_base_url = base;
    s.max_retry_secs = 1;
    let client = GoogleClient::from_settings(&s).await.unwrap();
    let e = client
        .list_events("primary", &ListParams::default())
        .await
        .expect_err("nothing listens there");
    assert_eq!(
        e.to_string(),
        "transient failure (127.0.0.1: connection refused)"
    );
}

#[tokio::test]
async fn a_missing_token_file_points_to_auth_login() {
    let google = Google::start().await;
    let mut s = settings(&google, &[]).google;
    let path = google.creds.join("no-token-here.json");
    s.token_path = Some(path.clone());
    let e = GoogleClient::from_settings(&s)
        .await
        .expect_err("no token file");
    assert_eq!(
        e.to_string(),
        format!(
            "credentials unusable: no token file at {}: run `calsync auth login` to create it",
            path.display()
        )
    );
}

#[tokio::test]
async fn a_call_waiting_out_its_backoff_ends_at_shutdown() {
    let google = Google::start().await;
    // Every answer is a 503 asking for 30 s: the call would sleep that long between attempts.
    google
        .set_faults(json!({"rate_503": 1.0, "retry_after_secs": 30}))
        .await;
    let shutdown = CancellationToken::new();
    let client = GoogleClient::from_settings(&settings(&google, &[]).google)
        .await
        .unwrap()
        .with_shutdown(shutdown.clone());
    let call =
        tokio::spawn(async move { client.list_events("primary", &ListParams::default()).await });
    calsync_testkit::wait_for("a first 503", Duration::from_secs(10), || async {
        google.count("events.list").await >= 1
    })
    .await;
    let asked = Instant::now();
    shutdown.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("the call ends at shutdown, not after its 30 s wait")
        .unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(
        ended.expect_err("cut short").to_string(),
        "transient failure (shutting down)"
    );
}
