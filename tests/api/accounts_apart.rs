//! Two Google accounts in one calsync (issue 20), each a user of the emulated Google with its own
//! `primary` and a secondary calendar of the same id: changes at each account land in that
//! account's rows only, local writes reach that account alone (the emulator's request log says
//! which user made each call), and revoking one account's grant pauses it with exactly one alert
//! while the other keeps syncing by push.

use std::path::PathBuf;
use std::time::Duration;

use calsync::config::{AccountSettings, CalendarSettings, Secret, Settings};
use calsync_testkit::api::call;
use calsync_testkit::{FakeTelegram, Google, TestApp, wait_for};
use reqwest::Method;
use serde_json::{Value, json};

pub(crate) const HOPITAL: &str = "doc@hopital.example";
const UNIV: &str = "prof@univ.example";
const WAIT: Duration = Duration::from_secs(30);

fn calendar(id: &str, account: &str, casquette: &str) -> CalendarSettings {
    CalendarSettings {
        id: id.into(),
        name: format!("{account} {id}"),
        casquette: casquette.into(),
        color: None,
        time_zone: None,
        account: Some(account.into()),
    }
}

/// The two users at Google, each with `primary` and `roles`, and their token files.
pub(crate) async fn two_users(google: &Google) -> (PathBuf, PathBuf) {
    let dir = google.creds.join("users");
    let mut files = Vec::new();
    for email in [HOPITAL, UNIV] {
        files.push(google.token_file_for(email, &dir).await);
        google
            .user(email)
            .add_calendar(json!({"id": "roles", "summary": "roles", "timeZone": "Europe/Paris"}))
            .await;
    }
    (files.remove(0), files.remove(0))
}

pub(crate) fn accounts(s: &mut Settings, hopital: PathBuf, univ: PathBuf) {
    for (name, path) in [("hopital", hopital), ("univ", univ)] {
        s.accounts.insert(
            name.into(),
            AccountSettings {
                token_path: Some(path),
                ..AccountSettings::default()
            },
        );
    }
    s.google_calendar.calendars = vec![
        calendar("primary", "hopital", "medecin"),
        calendar("roles", "hopital", "chercheur"),
        calendar("primary", "univ", "enseignant"),
        calendar("roles", "univ", "chercheur"),
    ];
}

/// Every calendar has a live channel and its startup catch-up is done (so the next run of a
/// calendar is the one its next push starts).
async fn live_channels(app: &TestApp, n: i64) {
    wait_for("a live channel per calendar, all idle", WAIT, || async {
        let live: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT calendar_id) FROM watch_channels WHERE state = 'active'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap_or(0);
        let busy: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sync_state
              WHERE pending OR last_success_at IS NULL OR lease_until > now()",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap_or(1);
        live == n && busy == 0
    })
    .await;
}

async fn calendars_of(app: &TestApp, summary: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT calendar_id FROM events WHERE summary = $1 AND deleted_at IS NULL ORDER BY 1",
    )
    .bind(summary)
    .fetch_all(&app.pool)
    .await
    .expect("events")
}

async fn lands(app: &TestApp, summary: &str, key: &str) {
    wait_for(&format!("{summary} on {key}"), WAIT, || async {
        calendars_of(app, summary).await == [key.to_string()]
    })
    .await;
}

fn timed(summary: &str) -> Value {
    json!({"summary": summary,
           "start": {"dateTime": "2026-03-03T09:00:00+01:00", "timeZone": "Europe/Paris"},
           "end": {"dateTime": "2026-03-03T10:00:00+01:00", "timeZone": "Europe/Paris"}})
}

fn summaries(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["status"] != "cancelled")
        .filter_map(|e| e["summary"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn two_accounts_with_the_same_calendar_ids_sync_both_ways_without_crossing() {
    let google = Google::start().await;
    let (hopital, univ) = two_users(&google).await;
    let app = TestApp::builder()
        .synced_to(&google)
        .with_settings(move |s| accounts(s, hopital, univ))
        .spawn()
        .await;
    live_channels(&app, 4).await;

    // Google → PostgreSQL: each account's change lands on that account's calendar only.
    google
        .user(HOPITAL)
        .insert("primary", timed("at the hospital"))
        .await;
    google
        .user(UNIV)
        .insert("roles", timed("lab meeting"))
        .await;
    lands(&app, "at the hospital", "hopital:primary").await;
    lands(&app, "lab meeting", "univ:roles").await;

    // PostgreSQL → Google, by plain SQL: `enseignant` is the university's alone.
    sqlx::query(
        "INSERT INTO events (casquette, summary, start_at, end_at)
         VALUES ('enseignant', 'lecture', '2026-03-04 08:00+00', '2026-03-04 09:00+00')",
    )
    .execute(&app.pool)
    .await
    .expect("a plain-SQL insert by casquette");
    // `chercheur` is both accounts': refused, with the way out in the message.
    let err = sqlx::query(
        "INSERT INTO events (casquette, summary, start_at, end_at)
         VALUES ('chercheur', 'ambiguous', '2026-03-04 08:00+00', '2026-03-04 09:00+00')",
    )
    .execute(&app.pool)
    .await
    .expect_err("a role of two accounts");
    assert!(err.to_string().contains("several accounts"), "{err}");
    // Through the API, by the calendar's key.
    let (status, created) = call(
        &app,
        Method::POST,
        "/api/v1/events",
        Some({
            let mut e = timed("grant review");
            e["calendar_id"] = json!("hopital:roles");
            e
        }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    wait_for("the local writes at Google", WAIT, || async {
        summaries(&google.user(UNIV).list_all("primary").await) == ["lecture"]
            && summaries(&google.user(HOPITAL).list_all("roles").await) == ["grant review"]
    })
    .await;
    assert_eq!(
        summaries(&google.user(HOPITAL).list_all("primary").await),
        ["at the hospital"],
        "nothing crossed into the hospital's primary"
    );
    assert_eq!(
        summaries(&google.user(UNIV).list_all("roles").await),
        ["lab meeting"],
        "nothing crossed into the university's roles"
    );
    // The emulator's request log: each insert was made with its own account's credentials.
    let inserts = |log: Vec<Value>| -> usize {
        log.iter()
            .filter(|r| r["method"] == "events.insert" && r["status"] == 200)
            .count()
    };
    assert_eq!(
        inserts(google.requests_of(UNIV).await),
        1,
        "the lecture, as the university"
    );
    assert_eq!(
        inserts(google.requests_of(HOPITAL).await),
        1,
        "the review, as the hospital"
    );
    // One row per Google event, none echoed back as a second copy.
    for (summary, key) in [
        ("lecture", "univ:primary"),
        ("grant review", "hopital:roles"),
    ] {
        lands(&app, summary, key).await;
    }

    // Both sides change one event (the university's push lost): the writer's If-Match meets 412,
    // and last-write-wins settles it at Google under the calendar's Google id, not calsync's key.
    let univ = google.user(UNIV);
    univ.set_faults(json!({"push_drop_rate": 1.0})).await;
    let meeting = univ
        .list_all("roles")
        .await
        .into_iter()
        .find(|e| e["summary"] == "lab meeting")
        .expect("the meeting at Google");
    let gid = meeting["id"].as_str().expect("an id").to_string();
    univ.patch("roles", &gid, json!({"location": "Salle B"}))
        .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    sqlx::query("UPDATE events SET location = 'Salle C' WHERE summary = 'lab meeting'")
        .execute(&app.pool)
        .await
        .expect("a local edit");
    wait_for("the 412 settled at Google", WAIT, || async {
        let winner: Option<String> =
            sqlx::query_scalar("SELECT winner FROM conflicts WHERE calendar_id = 'univ:roles'")
                .fetch_optional(&app.pool)
                .await
                .ok()
                .flatten();
        winner.as_deref() == Some("local") && univ.get("roles", &gid).await["location"] == "Salle C"
    })
    .await;
}

#[tokio::test]
async fn a_revoked_account_is_paused_with_one_alert_while_the_other_keeps_syncing_by_push() {
    let telegram = FakeTelegram::start().await;
    let google = Google::start().await;
    let (hopital, univ) = two_users(&google).await;
    let base = telegram.base_url.clone();
    let app = TestApp::builder()
        .synced_to(&google)
        .with_settings(move |s| {
            accounts(s, hopital, univ);
            s.telegram.bot_token = Some(Secret::new("123456:test-token"));
            s.telegram.chat_id = Some("-1001".into());
            s.telegram.api_base_url = base;
            s.google.max_retry_secs = 1;
        })
        .spawn()
        .await;
    live_channels(&app, 4).await;

    // The hospital's user removes calsync's access; its next changes are pushed anyway.
    google.revoke_user(HOPITAL).await;
    google
        .user(HOPITAL)
        .insert("primary", timed("after revocation 1"))
        .await;
    google
        .user(HOPITAL)
        .insert("roles", timed("after revocation 2"))
        .await;
    wait_for("the hospital paused", WAIT, || async {
        sqlx::query_scalar::<_, Option<String>>(
            "SELECT paused_reason FROM account_state WHERE account = 'hopital'",
        )
        .fetch_optional(&app.pool)
        .await
        .ok()
        .flatten()
        .flatten()
        .is_some_and(|r| r.contains("invalid_grant"))
    })
    .await;

    // The university keeps syncing, by push.
    google
        .user(UNIV)
        .insert("primary", timed("still in sync"))
        .await;
    lands(&app, "still in sync", "univ:primary").await;
    let trigger: String = sqlx::query_scalar(
        "SELECT trigger FROM sync_runs WHERE calendar_id = 'univ:primary' AND status = 'success'
          ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a run");
    assert_eq!(trigger, "push");
    // Both of the hospital's pushes were taken; neither change could be fetched.
    assert!(calendars_of(&app, "after revocation 1").await.is_empty());
    assert!(calendars_of(&app, "after revocation 2").await.is_empty());
    let (_, ready) = call(&app, Method::GET, "/readyz", None).await;
    assert_eq!(ready["paused_accounts"], json!(["hopital"]), "{ready}");
    let hospital: Vec<&Value> = ready["calendars"]
        .as_array()
        .expect("calendars")
        .iter()
        .filter(|c| c["account"] == "hopital")
        .collect();
    assert_eq!(hospital.len(), 2, "{ready}");
    assert!(
        hospital.iter().all(|c| c["error"]
            .as_str()
            .is_some_and(|e| e.contains("invalid_grant"))),
        "{ready}"
    );

    // Exactly one alert, naming the account: not one per calendar, none for the university.
    let alerts = || {
        telegram
            .requests()
            .into_iter()
            .filter_map(|r| r.body["text"].as_str().map(str::to_string))
            .filter(|t| t.contains("🚨"))
            .collect::<Vec<_>>()
    };
    wait_for("the alert", WAIT, || async { !alerts().is_empty() }).await;
    // Another push for the paused account costs no second alert.
    google
        .user(HOPITAL)
        .insert("primary", timed("after revocation 3"))
        .await;
    google
        .user(UNIV)
        .insert("roles", timed("a second university change"))
        .await;
    lands(&app, "a second university change", "univ:roles").await;
    let sent = alerts();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert!(sent[0].contains("compte hopital"), "{}", sent[0]);

    // Consent again and an explicit sync lift the pause; the missed changes arrive.
    google.restore_user(HOPITAL).await;
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/v1/calendar/sync",
        Some(json!({"account": "hopital"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    lands(&app, "after revocation 1", "hopital:primary").await;
    lands(&app, "after revocation 2", "hopital:roles").await;
}
