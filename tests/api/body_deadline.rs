//! Request bodies are read with a deadline: a client trickling its body gets 408 and a closed
//! connection; the resolve form checks the sign-in before it reads any body.

use std::time::{Duration, Instant};

use calsync_testkit::{TestApp, spawn_app_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `head` (and a body announced but trickled one byte every 300 ms); returns the status line
/// of the answer and how long it took, or None if none came within 8 s.
async fn trickle(app: &TestApp, head: String) -> Option<(String, Duration)> {
    let mut conn = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while started.elapsed() < Duration::from_secs(8) {
        tokio::select! {
            n = conn.read(&mut buf) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            },
            _ = tokio::time::sleep(Duration::from_millis(300)) => {
                let _ = conn.write_all(b"a").await;
            }
        }
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text.lines().next()?.to_string();
    Some((status, started.elapsed()))
}

fn head(path: &str, extra: &str, content_type: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: 1000\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn trickled_bodies_get_408_within_the_deadline() {
    let app = TestApp::builder()
        .with_settings(|s| s.server.body_read_timeout_secs = 1)
        .spawn()
        .await;
    let token = calsync::admin_auth::mint(
        "test-admin-secret-0123456789abcdef",
        "t",
        Duration::from_secs(600),
    )
    .unwrap();
    let auth = format!("Authorization: Bearer {token}\r\n");
    for (path, extra, content_type) in [
        ("/login", String::new(), "application/x-www-form-urlencoded"),
        (
            "/status/conflicts/7a1e5a5e-0000-4000-8000-000000000000/resolve",
            auth.clone(),
            "application/x-www-form-urlencoded",
        ),
        ("/api/v1/events", auth.clone(), "application/json"),
    ] {
        let (status, took) = trickle(&app, head(path, &extra, content_type))
            .await
            .unwrap_or_else(|| panic!("{path}: no answer while the body trickles"));
        assert!(status.contains(" 408 "), "{path}: {status}");
        assert!(took < Duration::from_secs(4), "{path}: {took:?}");
    }
}

#[tokio::test]
async fn the_resolve_form_checks_the_sign_in_before_reading_the_body() {
    let app = spawn_app_with(&[]).await;
    let (status, took) = trickle(
        &app,
        head(
            "/status/conflicts/7a1e5a5e-0000-4000-8000-000000000000/resolve",
            "",
            "application/x-www-form-urlencoded",
        ),
    )
    .await
    .expect("an answer before any body");
    assert!(status.contains(" 401 "), "{status}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}
