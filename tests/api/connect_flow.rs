//! The connect flow end to end in headless Chromium: an admin signs in at the status page, opens
//! `/connect/google?account=labo&casquette=chercheur&login_hint=…`, Google's (the emulator's)
//! consent screen sends the browser back to the callback, and calsync has sealed the account's
//! refresh token, added its calendars with channels, and syncs them by push — beside the sample
//! config's account, untouched. A forged `state` and a callback with no attempt are refused.

use std::time::Duration;

use calsync::config::Secret;
use calsync::secrets::at_rest::{SealedSecret, SecretKeys, new_key};
use calsync_testkit::{Google, TestApp, poll_until, wait_for};
use serde_json::json;

use crate::browser::Driver;

const LAB: &str = "researcher@lab.example";
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn an_admin_connects_an_account_through_the_consent_screen_in_chromium() {
    let google = Google::start().await;
    google.add_user(LAB).await;
    google
        .user(LAB)
        .add_calendar(
            json!({"id": "lab-seminars", "summary": "Seminars", "timeZone": "Europe/Paris"}),
        )
        .await;
    let key = new_key();
    let setting = key.clone();
    let app = TestApp::builder()
        .synced_to(&google)
        .with_settings(move |s| s.secrets.key = Some(Secret::new(setting)))
        .spawn()
        .await;

    let driver = Driver::start().await;
    // Signed out, the flow asks for the admin token first.
    let start = format!(
        "{}/connect/google?account=labo&casquette=chercheur&login_hint={}",
        app.address,
        LAB.replace('@', "%40")
    );
    driver.go(&start).await;
    assert!(
        driver.source().await.contains("Admin token"),
        "the sign-in form"
    );
    let token = calsync::admin_auth::mint(
        calsync_testkit::api::ADMIN_SECRET,
        "browser",
        Duration::from_secs(600),
    )
    .expect("a token");
    driver
        .find("input[name=token]")
        .await
        .send_keys(&token)
        .await
        .expect("typed");
    driver
        .find("form button[type=submit]")
        .await
        .click()
        .await
        .expect("signed in");
    poll_until(
        WAIT,
        Duration::from_millis(100),
        || driver.source(),
        |p| p.contains("Calendars"),
    )
    .await;
    driver.go(&start).await;
    let page = poll_until(
        WAIT,
        Duration::from_millis(100),
        || driver.source(),
        |p| p.contains(r#"id="connected""#) || p.contains(r#"class="bad""#),
    )
    .await;
    assert!(
        page.contains("Account labo connected: 2 calendar(s)"),
        "{page}"
    );

    // The token is sealed (no refresh token in clear), the calendars keyed labo:…, with channels.
    let document: Vec<u8> =
        sqlx::query_scalar("SELECT credentials FROM accounts WHERE name = 'labo'")
            .fetch_one(&app.pool)
            .await
            .expect("the account's sealed credentials");
    let ring = SecretKeys::from_sources(Some(&key), None, &[]).expect("the key");
    let (key_id, nonce): (String, Vec<u8>) =
        sqlx::query_as("SELECT secret_key_id, secret_nonce FROM accounts WHERE name = 'labo'")
            .fetch_one(&app.pool)
            .await
            .expect("the row");
    let sealed = SealedSecret {
        key_id,
        nonce,
        ciphertext: document,
    };
    let opened: serde_json::Value =
        serde_json::from_slice(&ring.open("labo", &sealed).expect("opens under the key"))
            .expect("a token document");
    let refresh = opened["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_string();
    let dump = calsync_testkit::pg_dump(&app.db_name);
    assert!(dump.contains("labo"), "the account's row is in the dump");
    assert!(
        !dump.contains(&refresh),
        "the refresh token in clear in pg_dump"
    );
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM calendars WHERE account = 'labo' AND active AND source = 'api' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("calendars");
    assert_eq!(keys, ["labo:lab-seminars", "labo:primary"]);
    wait_for("channels for the new calendars", WAIT, || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM watch_channels WHERE state = 'active' AND calendar_id LIKE 'labo:%'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap_or(0)
            == 2
    })
    .await;

    // The connected account syncs by push, as its own user at Google.
    google
        .user(LAB)
        .insert(
            "lab-seminars",
            json!({"summary": "Seminar", "start": {"dateTime": "2026-04-01T14:00:00+02:00"},
                   "end": {"dateTime": "2026-04-01T15:00:00+02:00"}}),
        )
        .await;
    wait_for("the seminar synced", WAIT, || async {
        sqlx::query_scalar::<_, String>("SELECT calendar_id FROM events WHERE summary = 'Seminar'")
            .fetch_optional(&app.pool)
            .await
            .ok()
            .flatten()
            .is_some_and(|c| c == "labo:lab-seminars")
    })
    .await;
    assert!(
        google
            .requests_of(LAB)
            .await
            .iter()
            .any(|r| r["method"] == "events.list"),
        "listed with the lab account's own token"
    );

    // A callback with a forged state, or with no attempt at all, is refused and stores nothing.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let started = http
        .get(start.replace("account=labo", "account=other"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("start");
    assert_eq!(started.status(), 302);
    let cookie = started
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("the attempt's cookie")
        .to_string();
    let callback = format!(
        "{}/connect/google/callback?code=x&state=forged",
        app.address
    );
    let forged = http
        .get(&callback)
        .header("cookie", &cookie)
        .send()
        .await
        .expect("callback");
    assert_eq!(forged.status(), 400);
    assert!(
        forged
            .text()
            .await
            .unwrap_or_default()
            .contains("state does not match")
    );
    let none = http.get(&callback).send().await.expect("callback");
    assert_eq!(none.status(), 400);
    assert!(
        none.text()
            .await
            .unwrap_or_default()
            .contains("unknown or expired")
    );
    let tampered = http
        .get(&callback)
        .header("cookie", cookie.replacen('.', ".x", 1))
        .send()
        .await
        .expect("callback");
    assert_eq!(
        tampered.status(),
        400,
        "a cookie whose signature does not verify"
    );
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(&app.pool)
        .await
        .expect("accounts");
    assert_eq!(accounts, 1);
}
