//! What stays one user's: its faults, its tokens (revoked, restored, expired) and its lines in the
//! request log and stats.

use calsync::emulator::dev_credentials;
use calsync_testkit::Google;
use reqwest::Method;
use serde_json::{Value, json};

use crate::users::{ALICE, BOB, call, grant, token};

#[tokio::test]
async fn a_users_faults_hit_only_its_requests() {
    let g = Google::start().await;
    let (ta, tb) = (
        token(&g, &g.add_user(ALICE).await).await,
        token(&g, &g.add_user(BOB).await).await,
    );
    let dev = calsync_testkit::google::access_token(&g.http, &g.emu).await;
    let list = "/calendars/primary/events";
    g.user(ALICE)
        .set_faults(json!({"rate_503": 1.0, "retry_after_secs": 7}))
        .await;
    let resp = g
        .http
        .get(format!("{}{list}", g.emu.api_base_url()))
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert_eq!(call(&g, &tb, Method::GET, list, None).await.0, 200);
    assert_eq!(call(&g, &dev, Method::GET, list, None).await.0, 200);
    // Global faults still hit everyone; both apply.
    g.set_faults(json!({"rate_500": 1.0})).await;
    assert_eq!(call(&g, &tb, Method::GET, list, None).await.0, 500);
    g.set_faults(json!({})).await;
    assert_eq!(call(&g, &ta, Method::GET, list, None).await.0, 503);
    g.user(ALICE).set_faults(json!({})).await;
    assert_eq!(call(&g, &ta, Method::GET, list, None).await.0, 200);
    // A per-user quota counts that user's requests only.
    g.user(BOB).set_faults(json!({"quota_per_minute": 1})).await;
    assert_eq!(call(&g, &tb, Method::GET, list, None).await.0, 200);
    let (status, body) = call(&g, &tb, Method::GET, list, None).await;
    assert_eq!(
        (status, body["error"]["errors"][0]["reason"].as_str()),
        (403, Some("rateLimitExceeded"))
    );
    assert_eq!(call(&g, &ta, Method::GET, list, None).await.0, 200);
}

#[tokio::test]
async fn revoking_one_user_leaves_the_others_working() {
    let g = Google::start().await;
    let (ra, rb) = (g.add_user(ALICE).await, g.add_user(BOB).await);
    let (ta, tb) = (token(&g, &ra).await, token(&g, &rb).await);
    let list = "/calendars/primary/events";
    g.revoke_user(ALICE).await;
    let (status, body) = grant(&g, &ra).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = call(&g, &ta, Method::GET, list, None).await;
    assert_eq!(
        (status, body["error"]["errors"][0]["reason"].as_str()),
        (401, Some("authError"))
    );
    assert_eq!(call(&g, &tb, Method::GET, list, None).await.0, 200);
    assert_eq!(grant(&g, &rb).await.0, 200);
    assert_eq!(
        grant(&g, dev_credentials::REFRESH_TOKEN).await.0,
        200,
        "the default user too"
    );

    g.restore_user(ALICE).await;
    let ta = token(&g, &ra).await;
    assert_eq!(call(&g, &ta, Method::GET, list, None).await.0, 200);
    // Expiring one user's access tokens: a 401 for it, and a refresh makes it work again.
    g.control(
        "POST",
        &format!("/emulator/users/{BOB}/tokens/expire"),
        json!({}),
    )
    .await;
    assert_eq!(call(&g, &tb, Method::GET, list, None).await.0, 401);
    assert_eq!(call(&g, &ta, Method::GET, list, None).await.0, 200);
    let tb = token(&g, &rb).await;
    assert_eq!(call(&g, &tb, Method::GET, list, None).await.0, 200);
}

#[tokio::test]
async fn the_request_log_names_each_requests_user() {
    let g = Google::start().await;
    let (ta, tb) = (
        token(&g, &g.add_user(ALICE).await).await,
        token(&g, &g.add_user(BOB).await).await,
    );
    call(&g, &ta, Method::GET, "/calendars/primary/events", None).await;
    call(&g, &tb, Method::GET, "/users/me/calendarList", None).await;
    call(
        &g,
        "not-a-token",
        Method::GET,
        "/calendars/primary/events",
        None,
    )
    .await;

    let alices: Vec<(String, String)> = g
        .requests_of(ALICE)
        .await
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().into(),
                r["user"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        alices,
        [
            ("token".into(), ALICE.into()),
            ("events.list".into(), ALICE.into())
        ]
    );
    let bobs: Vec<String> = g
        .requests_of(BOB)
        .await
        .iter()
        .map(|r| r["method"].as_str().unwrap().into())
        .collect();
    assert_eq!(bobs, ["token", "calendarList.list"]);
    let all = g.control("GET", "/emulator/requests", Value::Null).await;
    let refused = all["requests"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (refused["status"].as_u64(), &refused["user"]),
        (Some(401), &Value::Null)
    );
    let stats = g
        .control("GET", &format!("/emulator/stats?user={ALICE}"), Value::Null)
        .await;
    assert_eq!(stats["counts"], json!({"token": 1, "events.list": 1}));
    assert_eq!(stats["calendars"], 1);
}
