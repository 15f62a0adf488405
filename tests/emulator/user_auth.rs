//! How a user's tokens come and go: the consent screen's `login_hint`, Google's revocation endpoint
//! (`/revoke`), a service account impersonating a user (`sub`), and the token files the test kit writes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use calsync::emulator::dev_credentials;
use calsync_testkit::Google;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::users::{ALICE, BOB, call, grant, token};

const CAROL: &str = "carol@example.org";

/// The consent screen with `login_hint`, then the code exchange: the token endpoint's answer.
async fn consent(g: &Google, hint: Option<&str>) -> Value {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let verifier = "a-verifier-of-at-least-forty-three-characters-0123456789";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let redirect = "http://127.0.0.1:9/callback";
    let mut query = vec![
        ("client_id", dev_credentials::CLIENT_ID),
        ("redirect_uri", redirect),
        ("response_type", "code"),
        (
            "scope",
            "openid email https://www.googleapis.com/auth/calendar",
        ),
        ("state", "st-1"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("access_type", "offline"),
        ("prompt", "consent"),
        ("include_granted_scopes", "true"),
    ];
    if let Some(h) = hint {
        query.push(("login_hint", h));
    }
    let resp = http
        .get(format!("{}/o/oauth2/auth", g.emu.base_url()))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let params: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "st-1");
    let resp = http
        .post(g.emu.token_url())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", params["code"].as_str()),
            ("client_id", dev_credentials::CLIENT_ID),
            ("client_secret", dev_credentials::CLIENT_SECRET),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

fn id_token_claims(tokens: &Value) -> Value {
    let jwt = tokens["id_token"].as_str().unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn tokeninfo(g: &Google, access: &str) -> Value {
    g.http
        .get(format!("{}/tokeninfo", g.emu.base_url()))
        .query(&[("access_token", access)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_hint_consents_as_that_user() {
    let g = Google::start().await;
    let tokens = consent(&g, Some(CAROL)).await;
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["email"], CAROL);
    let sub = claims["sub"].as_str().unwrap().to_string();
    assert_eq!(sub.len(), 21);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let access = token(&g, refresh).await;
    let info = tokeninfo(&g, &access).await;
    assert_eq!(
        (info["email"].as_str(), info["sub"].as_str()),
        (Some(CAROL), Some(sub.as_str()))
    );
    // Carol's own primary, created by the consent, aliased by her address; empty.
    let (status, cal) = call(
        &g,
        &access,
        Method::GET,
        &format!("/calendars/{CAROL}"),
        None,
    )
    .await;
    assert_eq!((status, cal["id"].as_str()), (200, Some("primary")));
    g.insert("primary", crate::timed("default's", 9)).await;
    let (_, events) = call(&g, &access, Method::GET, "/calendars/primary/events", None).await;
    assert_eq!(events["items"], json!([]));
    // A second consent: the same user, the same sub, another refresh token.
    let again = consent(&g, Some("Carol@Example.org")).await;
    assert_eq!(id_token_claims(&again)["sub"], sub.as_str());
    assert_ne!(again["refresh_token"], tokens["refresh_token"]);
    // Without a hint: the default user, as before.
    let default = consent(&g, None).await;
    assert_eq!(
        id_token_claims(&default)["email"],
        dev_credentials::USER_EMAIL
    );
    let log = g.requests_of(CAROL).await;
    assert!(
        log.iter().any(|r| r["method"] == "oauth.authorize"),
        "{log:?}"
    );
}

#[tokio::test]
async fn revoke_endpoint_forgets_a_refresh_token_and_its_access_tokens() {
    let g = Google::start().await;
    let (ra, rb) = (g.add_user(ALICE).await, g.add_user(BOB).await);
    let (ta, tb) = (token(&g, &ra).await, token(&g, &rb).await);
    let revoke = |body: Option<&str>, query: Option<&str>| {
        let mut req = g.http.post(format!("{}/revoke", g.emu.base_url()));
        if let Some(t) = body {
            req = req.form(&[("token", t)]);
        }
        if let Some(t) = query {
            req = req.query(&[("token", t)]);
        }
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(revoke(Some(&ra), None).await, (200, json!({})));
    let (status, body) = grant(&g, &ra).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let list = "/calendars/primary/events";
    assert_eq!(call(&g, &ta, Method::GET, list, None).await.0, 401);
    assert_eq!(call(&g, &tb, Method::GET, list, None).await.0, 200);
    let gone = json!({"error": "invalid_token", "error_description": "Token expired or revoked"});
    assert_eq!(revoke(Some(&ra), None).await, (400, gone.clone()));
    assert_eq!(
        revoke(None, Some("never-issued")).await,
        (400, gone.clone())
    );
    // An access token, in the query: it goes, and its refresh token with it (as Google documents).
    assert_eq!(revoke(None, Some(&tb)).await, (200, json!({})));
    assert_eq!(call(&g, &tb, Method::GET, list, None).await.0, 401);
    assert_eq!(grant(&g, &rb).await.0, 400);
    let log = g.control("GET", "/emulator/requests", Value::Null).await;
    let revokes: Vec<(u64, Value)> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "oauth.revoke")
        .map(|r| (r["status"].as_u64().unwrap(), r["user"].clone()))
        .collect();
    assert_eq!(
        revokes,
        [
            (200, json!(ALICE)),
            (400, Value::Null),
            (400, Value::Null),
            (200, json!(BOB))
        ]
    );
    assert!(
        log.to_string().find(&rb).is_none(),
        "the log keeps no token"
    );
}

/// A signed service-account assertion for `iss`, impersonating `sub` when given.
fn assertion(g: &Google, iss: &str, sub: Option<&str>) -> String {
    let key = include_str!("../fixtures/sa_test_key.pem");
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"iss": iss, "scope": "https://www.googleapis.com/auth/calendar",
        "aud": g.emu.token_url(), "iat": now, "exp": now + 3600});
    if let Some(s) = sub {
        claims["sub"] = json!(s);
    }
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(key.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

async fn sa_token(g: &Google, jwt: &str) -> String {
    let body: Value = g
        .http
        .post(g.emu.token_url())
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", jwt),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

#[tokio::test]
async fn a_service_account_acts_for_its_sub_or_for_itself() {
    let g = Google::start().await;
    let sa = "robot@project.iam.gserviceaccount.com";
    let public = include_str!("../fixtures/sa_test_key.pub.pem");
    g.control(
        "POST",
        "/emulator/service-accounts",
        json!({"client_email": sa, "public_key_pem": public}),
    )
    .await;
    g.add_user(ALICE).await;
    g.user(ALICE)
        .insert("primary", crate::timed("alice's", 9))
        .await;

    let as_alice = sa_token(&g, &assertion(&g, sa, Some(ALICE))).await;
    let (_, events) = call(
        &g,
        &as_alice,
        Method::GET,
        "/calendars/primary/events",
        None,
    )
    .await;
    assert_eq!(events["items"][0]["summary"], "alice's");
    // A user seen for the first time is created with its primary.
    let as_dave = sa_token(&g, &assertion(&g, sa, Some("dave@example.org"))).await;
    let (status, cal) = call(
        &g,
        &as_dave,
        Method::GET,
        "/calendars/dave@example.org",
        None,
    )
    .await;
    assert_eq!((status, cal["id"].as_str()), (200, Some("primary")));
    // Without sub, the service account is its own user, with its own (empty) primary.
    let itself = sa_token(&g, &assertion(&g, sa, None)).await;
    let (_, events) = call(&g, &itself, Method::GET, "/calendars/primary/events", None).await;
    assert_eq!(events["items"], json!([]));
    let users = g.control("GET", "/emulator/users", Value::Null).await;
    let emails: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [ALICE, "dave@example.org", dev_credentials::USER_EMAIL, sa]
    );
    assert_eq!(
        g.requests_of("dave@example.org").await.len(),
        2,
        "token and calendars.get"
    );
}

#[tokio::test]
async fn a_token_file_for_a_user_holds_its_refresh_token() {
    let g = Google::start().await;
    let dir = g.creds.join("users");
    let path = g.token_file_for(ALICE, &dir).await;
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(file["token_uri"], g.emu.token_url());
    assert_eq!(file["client_id"], dev_credentials::CLIENT_ID);
    let access = token(&g, file["refresh_token"].as_str().unwrap()).await;
    let info = tokeninfo(&g, &access).await;
    assert_eq!(info["scope"], "https://www.googleapis.com/auth/calendar");
    assert_eq!(g.requests_of(ALICE).await.len(), 2, "token and tokeninfo");
}
