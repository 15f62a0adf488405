//! The channel admin endpoints: missing, expired, forged and unsigned tokens are refused.

use std::time::Duration;

use calsync_testkit::{Google, spawn_synced_app, wait_for};
use serde_json::{Value, json};

use crate::push_pipeline::{active_channels, admin_token};

#[tokio::test]
async fn admin_endpoints_refuse_missing_expired_forged_and_unsigned_tokens() {
    use base64::Engine as _;
    let google = Google::start().await;
    let app = spawn_synced_app(&google, &[]).await;
    wait_for("channels", Duration::from_secs(15), || async {
        active_channels(&app).await.len() == 3
    })
    .await;
    let url = format!("{}/admin/channels", app.address);
    let now = chrono::Utc::now().timestamp();
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let claims = |exp: i64| json!({"sub": "x", "iat": now, "exp": exp, "scope": "calsync:admin"});
    let sign = |secret: &str, c: serde_json::Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &c,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let unsigned = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims(now + 600))
    );
    for (what, token) in [
        (
            "expired",
            Some(sign(
                "test-admin-secret-0123456789abcdef",
                claims(now - 600),
            )),
        ),
        ("wrong key", Some(sign("not-the-secret", claims(now + 600)))),
        ("alg none", Some(unsigned)),
        ("garbage", Some("abc".to_string())),
        ("missing", None),
    ] {
        let mut req = app.client.get(&url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{what}");
    }
    let ok = app
        .client
        .get(&url)
        .bearer_auth(admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    let id = body["channels"][0]["id"].as_str().unwrap().to_string();
    let stop = app
        .client
        .post(format!("{}/admin/channels/{id}/stop", app.address))
        .bearer_auth(admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(stop.status(), 200);
    let state: String = sqlx::query_scalar("SELECT state FROM watch_channels WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(state, "stopped");
}
