//! What users do in Google Calendar, reaching PostgreSQL: an event moved to another calendar, and a
//! series split with "this and following" (the old series ends with UNTIL, a new one begins).
//! (One instance edited or cancelled: `sync_engine::recurring_masters_exceptions_and_cancelled_instances_are_stored`.)

use crate::sync_engine::{done, setup};
use serde_json::json;

type Row = (String, String, Option<Vec<String>>, bool);

async fn rows(app: &calsync_testkit::TestApp, external_id_prefix: &str) -> Vec<Row> {
    sqlx::query_as(
        "SELECT calendar_id, external_id, recurrence, deleted_at IS NOT NULL FROM events
          WHERE external_id LIKE $1 || '%' ORDER BY calendar_id, external_id",
    )
    .bind(external_id_prefix)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_event_moved_to_another_calendar_leaves_one_and_lands_in_the_other() {
    let (google, app, s) = setup(&[]).await;
    let event = google
        .insert(
            "primary",
            json!({"summary": "staff meeting", "start": {"dateTime": "2030-04-01T09:00:00Z"},
                   "end": {"dateTime": "2030-04-01T10:00:00Z"}}),
        )
        .await;
    let id = event["id"].as_str().unwrap().to_string();
    done(&s, "primary").await;
    done(&s, "CALENDAR_ID_ENSEIGNANT").await;
    google
        .move_event("primary", &id, "CALENDAR_ID_ENSEIGNANT")
        .await;
    done(&s, "primary").await;
    done(&s, "CALENDAR_ID_ENSEIGNANT").await;
    let found = rows(&app, &id).await;
    assert_eq!(
        found,
        vec![
            (
                "CALENDAR_ID_ENSEIGNANT".to_string(),
                id.clone(),
                None,
                false
            ),
            ("primary".to_string(), id.clone(), None, true),
        ],
        "live in the target, soft-deleted in the source"
    );
    let casquette: String = sqlx::query_scalar(
        "SELECT casquette FROM events WHERE external_id = $1 AND deleted_at IS NULL",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        casquette, "enseignant",
        "the row takes its new calendar's role"
    );
    // Nothing went back to Google: the move was Google's, not a local change.
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(outbox, 0);
}

#[tokio::test]
async fn a_series_split_this_and_following_keeps_both_series() {
    let (google, app, s) = setup(&[]).await;
    let zone = "Europe/Paris";
    let master = google
        .insert(
            "primary",
            json!({"summary": "cours", "start": {"dateTime": "2030-03-04T09:00:00+01:00", "timeZone": zone},
                   "end": {"dateTime": "2030-03-04T10:00:00+01:00", "timeZone": zone},
                   "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=10"]}),
        )
        .await;
    let mid = master["id"].as_str().unwrap().to_string();
    done(&s, "primary").await;
    // "This and following" from the 3rd week, moved to 14:00: Google ends the old series with UNTIL
    // and creates a new one (its UI names it `<old>_R<start>`; through the API the new series gets
    // an id of its own, as here).
    google
        .patch(
            "primary",
            &mid,
            json!({"recurrence": ["RRULE:FREQ=WEEKLY;UNTIL=20300317T225959Z"]}),
        )
        .await;
    let new_series = google
        .insert(
            "primary",
            json!({"summary": "cours (new time)",
                   "start": {"dateTime": "2030-03-18T14:00:00+01:00", "timeZone": zone},
                   "end": {"dateTime": "2030-03-18T15:00:00+01:00", "timeZone": zone},
                   "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=8"]}),
        )
        .await;
    let new_id = new_series["id"].as_str().unwrap().to_string();
    done(&s, "primary").await;
    let mut found = rows(&app, &mid).await;
    found.extend(rows(&app, &new_id).await);
    assert_eq!(
        found,
        vec![
            (
                "primary".to_string(),
                mid.clone(),
                Some(vec!["RRULE:FREQ=WEEKLY;UNTIL=20300317T225959Z".to_string()]),
                false
            ),
            (
                "primary".to_string(),
                new_id.clone(),
                Some(vec!["RRULE:FREQ=WEEKLY;COUNT=8".to_string()]),
                false
            ),
        ]
    );
}
