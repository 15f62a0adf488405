//! The write contract's checks on plain SQL: the role on INSERT, end before start, unknown zones,
//! recurring timed rows without a zone; each refusal names its column.

use calsync_testkit::{TestApp, spawn_app};

async fn refused(app: &TestApp, sql: &str) -> String {
    let err = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&app.pool)
        .await
        .expect_err(sql);
    let column = err
        .as_database_error()
        .and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
        .and_then(|d| d.column().map(str::to_string))
        .unwrap_or_default();
    format!("{err} [column {column}]")
}

#[tokio::test]
async fn a_plain_sql_insert_with_another_roles_casquette_is_refused() {
    let app = spawn_app().await;
    for role in ["enseignant", "pilote"] {
        let err = refused(
            &app,
            &format!(
                "INSERT INTO events (calendar_id, casquette, summary, start_at, end_at)
                 VALUES ('primary', '{role}', 'x', now(), now() + interval '1 hour')"
            ),
        )
        .await;
        assert!(err.contains("casquette"), "{err}");
        assert!(err.contains("(medecin)"), "{err}");
    }
    // The calendar's own role, or none (filled in), is accepted.
    for sql in [
        "INSERT INTO events (calendar_id, casquette, summary, start_at, end_at)
         VALUES ('primary', 'medecin', 'x', now(), now() + interval '1 hour')",
        "INSERT INTO events (calendar_id, summary, start_at, end_at)
         VALUES ('primary', 'x', now(), now() + interval '1 hour')",
    ] {
        sqlx::query(sql).execute(&app.pool).await.unwrap();
    }
    let wrong: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE casquette <> 'medecin'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(wrong, 0);
}

#[tokio::test]
async fn plain_sql_spans_zones_and_series_are_checked_naming_the_column() {
    let app = spawn_app().await;
    let cases = [
        (
            "INSERT INTO events (calendar_id, summary, start_at, end_at)
             VALUES ('primary', 'x', now(), now() - interval '1 hour')",
            "end_at",
        ),
        (
            "INSERT INTO events (calendar_id, summary, start_date, end_date)
             VALUES ('primary', 'x', '2026-02-18', '2026-02-17')",
            "end_date",
        ),
        (
            "INSERT INTO events (calendar_id, summary, start_at, end_at, time_zone)
             VALUES ('primary', 'x', now(), now(), 'Mars/Olympus')",
            "time_zone",
        ),
        (
            "INSERT INTO events (calendar_id, summary, start_at, end_at, time_zone)
             VALUES ('primary', 'x', now(), now(), 'UTC+5')",
            "time_zone",
        ),
        (
            "INSERT INTO events (calendar_id, summary, start_at, end_at, recurrence)
             VALUES ('primary', 'x', now(), now(), ARRAY['RRULE:FREQ=DAILY'])",
            "time_zone",
        ),
    ];
    for (sql, column) in cases {
        let err = refused(&app, sql).await;
        assert!(err.contains(&format!("column {column}")), "{sql}: {err}");
    }
    // An UPDATE is checked too.
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO events (calendar_id, summary, start_at, end_at, time_zone)
         VALUES ('primary', 'x', now(), now() + interval '1 hour', 'Europe/Paris') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    for (sql, column) in [
        (
            "UPDATE events SET end_at = start_at - interval '1 minute' WHERE id = '{id}'",
            "end_at",
        ),
        (
            "UPDATE events SET time_zone = 'Nowhere/Land' WHERE id = '{id}'",
            "time_zone",
        ),
        (
            "UPDATE events SET time_zone = NULL, recurrence = ARRAY['RRULE:FREQ=WEEKLY'] WHERE id = '{id}'",
            "time_zone",
        ),
    ] {
        let err = refused(&app, &sql.replace("{id}", &id.to_string())).await;
        assert!(err.contains(&format!("column {column}")), "{sql}: {err}");
    }
    // Valid rows still go through: IANA names (Etc/ offsets included), all-day series without a zone.
    for sql in [
        "INSERT INTO events (calendar_id, summary, start_at, end_at, time_zone, recurrence)
         VALUES ('primary', 'x', now(), now(), 'America/Argentina/Buenos_Aires', ARRAY['RRULE:FREQ=DAILY'])",
        "INSERT INTO events (calendar_id, summary, start_at, end_at, time_zone)
         VALUES ('primary', 'x', now(), now(), 'Etc/GMT+5')",
        "INSERT INTO events (calendar_id, summary, start_date, end_date, recurrence)
         VALUES ('primary', 'x', '2026-02-17', '2026-02-18', ARRAY['RRULE:FREQ=YEARLY'])",
    ] {
        sqlx::query(sql).execute(&app.pool).await.expect(sql);
    }
}
