//! The logical events of a seed and the random operations on them: inserts, edits (summary or time) and deletes,
//! made either at Google (emulator control API, as a user in Google's UI) or locally (plain SQL on `events`).
//! Every edit writes the whole (summary, start, end) triple, so the expected final state is exactly the
//! triple of the event's last operation (last-write-wins in wall-clock order; a delete is final).

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::google::{CALENDARS, Google};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Google,
    Local,
}

/// What both sides are compared on (with the Google id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fields {
    pub summary: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl std::fmt::Display for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "({:?}, {}, {})",
            self.summary,
            self.start.format("%m-%d %H:%M"),
            self.end.format("%m-%d %H:%M")
        )
    }
}

/// One event as the test means it, matched on both sides by the tag that starts its summary.
pub struct Logical {
    pub tag: String,
    pub cal: &'static str,
    /// Known from the start for local inserts (the writer uses the row's UUID as Google id).
    pub google_id: String,
    /// Known from the start for local inserts; found once the sync brought a Google insert in.
    pub local_id: Option<Uuid>,
    /// None once deleted (never touched again).
    pub state: Option<Fields>,
    pub version: u32,
    pub history: Vec<String>,
}

pub struct Model {
    prefix: String,
    pub events: Vec<Logical>,
    pub google_ops: usize,
    pub local_ops: usize,
    /// Operations the test could not make (a refused control call, a row gone): each fails the seed.
    pub anomalies: Vec<String>,
    last_touched: Option<usize>,
}

/// The tag of a summary ("s7e12 v3" → "s7e12").
pub fn tag_of(summary: &str) -> &str {
    summary.split_whitespace().next().unwrap_or("")
}

fn random_fields(rng: &mut StdRng, tag: &str, version: u32) -> Fields {
    let base = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let start = base + chrono::Duration::minutes(5 * rng.random_range(0..100_000));
    Fields {
        summary: format!("{tag} v{version}"),
        start,
        end: start + chrono::Duration::minutes(15 * rng.random_range(1..=16)),
    }
}

fn google_body(f: &Fields) -> serde_json::Value {
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({"summary": f.summary, "start": {"dateTime": at(f.start)}, "end": {"dateTime": at(f.end)}})
}

/// Runs a statement, again while PostgreSQL is unreachable (up to 20 s); `retry` tells a repeat apart.
async fn sql<T, F, Fut>(mut run: F) -> Result<T, String>
where
    F: FnMut(bool) -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let start = Instant::now();
    let mut retry = false;
    loop {
        match run(retry).await {
            Ok(v) => return Ok(v),
            Err(e) if transient(&e) && start.elapsed() < Duration::from_secs(20) => {
                retry = true;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
        _ => false,
    }
}

impl Model {
    pub fn new(seed: u64, label: &str) -> Self {
        Self {
            prefix: format!("{label}{seed}e"),
            events: Vec::new(),
            google_ops: 0,
            local_ops: 0,
            anomalies: Vec::new(),
            last_touched: None,
        }
    }

    pub fn by_tag(&self, tag: &str) -> Option<&Logical> {
        self.events.iter().find(|e| e.tag == tag)
    }

    /// One random operation (number `n` of the schedule).
    pub async fn step(&mut self, rng: &mut StdRng, n: usize, google: &Google, pool: &PgPool) {
        let side = if rng.random_bool(0.5) {
            Side::Google
        } else {
            Side::Local
        };
        let roll: f64 = rng.random();
        let mut live: Vec<usize> = (0..self.events.len())
            .filter(|i| self.events[*i].state.is_some())
            .collect();
        if roll >= 0.3 && !live.is_empty() {
            live.shuffle(rng);
            // Often the event just touched: edits that race on one event are what LWW is about.
            if let Some(last) = self.last_touched
                && live.contains(&last)
                && rng.random_bool(0.4)
            {
                live.retain(|i| *i != last);
                live.insert(0, last);
            }
            for idx in live.into_iter().take(4) {
                if self.exists(side, idx, google, pool).await {
                    match roll {
                        r if r < 0.58 => self.edit(rng, n, side, idx, false, google, pool).await,
                        r if r < 0.86 => self.edit(rng, n, side, idx, true, google, pool).await,
                        _ => self.delete(n, side, idx, google, pool).await,
                    }
                    self.count(side);
                    return;
                }
            }
        }
        self.insert(rng, n, side, google, pool).await;
        self.count(side);
    }

    fn count(&mut self, side: Side) {
        match side {
            Side::Google => self.google_ops += 1,
            Side::Local => self.local_ops += 1,
        }
    }

    /// Google ops only on events live at the emulator, local ops only on live local rows.
    async fn exists(&mut self, side: Side, idx: usize, google: &Google, pool: &PgPool) -> bool {
        let e = &self.events[idx];
        match side {
            Side::Google => google.is_live(e.cal, &e.google_id).await,
            Side::Local => {
                let found: Result<Option<Uuid>, String> = sql(|_| {
                    sqlx::query_scalar(
                        "SELECT id FROM events WHERE deleted_at IS NULL
                            AND (id = $1 OR (calendar_id = $2 AND external_id = $3))
                          ORDER BY id = $1 DESC NULLS LAST LIMIT 1",
                    )
                    .bind(e.local_id)
                    .bind(e.cal)
                    .bind(&e.google_id)
                    .fetch_optional(pool)
                })
                .await;
                match found {
                    Ok(Some(id)) => {
                        self.events[idx].local_id = Some(id);
                        true
                    }
                    Ok(None) => false,
                    Err(err) => {
                        self.anomalies
                            .push(format!("existence check failed: {err}"));
                        false
                    }
                }
            }
        }
    }

    async fn insert(
        &mut self,
        rng: &mut StdRng,
        n: usize,
        side: Side,
        google: &Google,
        pool: &PgPool,
    ) {
        let tag = format!("{}{}", self.prefix, self.events.len() + 1);
        let cal = CALENDARS[rng.random_range(0..CALENDARS.len())];
        let fields = random_fields(rng, &tag, 1);
        let (google_id, local_id) = match side {
            Side::Google => match google.user_insert(cal, google_body(&fields)).await {
                Ok(id) => (id, None),
                Err(e) => return self.anomalies.push(format!("#{n} google insert: {e}")),
            },
            Side::Local => {
                let id = Uuid::new_v4();
                let done = sql(|retry| {
                    let q = sqlx::query(
                        "INSERT INTO events (id, calendar_id, summary, start_at, end_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(id)
                    .bind(cal)
                    .bind(&fields.summary)
                    .bind(fields.start)
                    .bind(fields.end)
                    .execute(pool);
                    async move {
                        match q.await {
                            // A repeat after a lost answer: the first attempt went through.
                            Err(sqlx::Error::Database(d)) if retry && d.is_unique_violation() => {
                                Ok(())
                            }
                            other => other.map(|_| ()),
                        }
                    }
                })
                .await;
                if let Err(e) = done {
                    return self.anomalies.push(format!("#{n} local insert: {e}"));
                }
                (id.simple().to_string(), Some(id))
            }
        };
        self.events.push(Logical {
            history: vec![format!("#{n} {side:?} insert {cal} -> {fields}")],
            tag,
            cal,
            google_id,
            local_id,
            state: Some(fields),
            version: 1,
        });
        self.last_touched = Some(self.events.len() - 1);
    }

    #[allow(clippy::too_many_arguments)]
    async fn edit(
        &mut self,
        rng: &mut StdRng,
        n: usize,
        side: Side,
        idx: usize,
        time: bool,
        google: &Google,
        pool: &PgPool,
    ) {
        let e = &self.events[idx];
        let Some(old) = e.state.clone() else { return };
        let version = e.version + 1;
        let fresh = random_fields(rng, &e.tag, version);
        // A summary edit keeps the time, a time edit keeps the summary; the whole triple is written.
        let next = if time {
            Fields {
                summary: old.summary.clone(),
                ..fresh
            }
        } else {
            Fields {
                summary: fresh.summary,
                ..old.clone()
            }
        };
        let what = if time { "time" } else { "summary" };
        let done = match side {
            Side::Google => {
                google
                    .user_patch(e.cal, &e.google_id, google_body(&next))
                    .await
            }
            Side::Local => {
                let id = e.local_id;
                sql(|_| {
                    sqlx::query(
                        "UPDATE events SET summary = $2, start_at = $3, end_at = $4 WHERE id = $1 AND deleted_at IS NULL",
                    )
                    .bind(id)
                    .bind(&next.summary)
                    .bind(next.start)
                    .bind(next.end)
                    .execute(pool)
                })
                .await
                .and_then(|r| match r.rows_affected() {
                    1 => Ok(()),
                    _ => Err("the live row is gone".into()),
                })
            }
        };
        let e = &mut self.events[idx];
        match done {
            Ok(()) => {
                e.history
                    .push(format!("#{n} {side:?} edit {what} -> {next}"));
                e.state = Some(next);
                e.version = if time { e.version } else { version };
                self.last_touched = Some(idx);
            }
            Err(err) => self
                .anomalies
                .push(format!("#{n} {side:?} edit {what} of {}: {err}", e.tag)),
        }
    }

    async fn delete(&mut self, n: usize, side: Side, idx: usize, google: &Google, pool: &PgPool) {
        let e = &self.events[idx];
        let done = match side {
            Side::Google => google.user_delete(e.cal, &e.google_id).await,
            Side::Local => {
                let id = e.local_id;
                sql(|_| {
                    sqlx::query(
                        "UPDATE events SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL",
                    )
                    .bind(id)
                    .execute(pool)
                })
                .await
                .and_then(|r| match r.rows_affected() {
                    1 => Ok(()),
                    _ => Err("the live row is gone".into()),
                })
            }
        };
        let e = &mut self.events[idx];
        match done {
            Ok(()) => {
                e.history.push(format!("#{n} {side:?} delete"));
                e.state = None;
            }
            Err(err) => self
                .anomalies
                .push(format!("#{n} {side:?} delete of {}: {err}", e.tag)),
        }
    }
}
