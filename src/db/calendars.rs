//! Calendars from the config mirrored into PostgreSQL (with their sync state rows) at startup.

use sqlx::PgPool;

use crate::config::Settings;

/// Upserts every configured calendar, creates missing sync-state rows and marks calendars
/// that left the config inactive. Returns the number of active calendars.
pub async fn reconcile(pool: &PgPool, settings: &Settings) -> Result<usize, sqlx::Error> {
    let cals = &settings.google_calendar.calendars;
    let ids: Vec<String> = cals.iter().map(|c| c.id.clone()).collect();
    let names: Vec<String> = cals.iter().map(|c| c.name.clone()).collect();
    let roles: Vec<String> = cals.iter().map(|c| c.casquette.clone()).collect();
    let colors: Vec<Option<String>> = cals.iter().map(|c| c.color.clone()).collect();
    let mut tx = pool.begin().await?;
    sqlx::query!(
        r#"INSERT INTO calendars (id, name, casquette, color, active)
           SELECT *, TRUE FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
           ON CONFLICT (id) DO UPDATE
              SET name = EXCLUDED.name, casquette = EXCLUDED.casquette, color = EXCLUDED.color,
                  active = TRUE, updated_at = now()"#,
        &ids,
        &names,
        &roles,
        &colors as &[Option<String>],
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE calendars SET active = FALSE, updated_at = now() WHERE active AND NOT (id = ANY($1))",
        &ids
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO sync_state (calendar_id) SELECT UNNEST($1::text[]) ON CONFLICT DO NOTHING",
        &ids
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids.len())
}

/// An active calendar's id and the zone Google last reported for it.
pub struct CalendarZone {
    pub id: String,
    pub time_zone: Option<String>,
}

/// Active calendars (of one role, when given), with their reported zones.
pub async fn active_zones(
    pool: &PgPool,
    casquette: Option<&str>,
) -> Result<Vec<CalendarZone>, sqlx::Error> {
    sqlx::query_as!(
        CalendarZone,
        "SELECT id, time_zone FROM calendars WHERE active AND ($1::text IS NULL OR casquette = $1) ORDER BY id",
        casquette
    )
    .fetch_all(pool)
    .await
}

/// The zone Google reported for a calendar (`UTC` when it reported none; None: no such calendar).
pub async fn zone_of(pool: &PgPool, id: &str) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "SELECT COALESCE(time_zone, 'UTC') FROM calendars WHERE id = $1",
        id
    )
    .fetch_optional(pool)
    .await?
    .flatten())
}
