//! Calls to calsync's admin API as the tests make them: a token signed with the test settings'
//! admin secret, and one request with its status and JSON body.

use serde_json::Value;

use crate::app::TestApp;

/// The admin secret of [`crate::test_settings`].
pub const ADMIN_SECRET: &str = "test-admin-secret-0123456789abcdef";

/// A ten-minute admin token for the test settings.
pub fn admin_token() -> String {
    calsync::admin_auth::mint(ADMIN_SECRET, "tests", std::time::Duration::from_secs(600))
        .expect("minting a test admin token")
}

/// One authenticated request: its status and its JSON body (`Null` when it has none).
pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call_as(app, &admin_token(), method, path, body).await
}

/// [`call`] with another bearer token (an account-scoped one, say).
pub async fn call_as(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app
        .client
        .request(method, format!("{}{}", app.address, path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request to calsync");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
