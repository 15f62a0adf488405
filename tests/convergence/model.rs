//! The logical events of a seed and the random operations on them: inserts, edits (summary or time) and deletes,
//! made either at Google (emulator control API, as the calendar's user in Google's UI) or locally (plain SQL on
//! `events`, or calsync's API with a token scoped to the event's account), on the calendars of three accounts.
//! Every edit writes the whole (summary, start, end) triple, so the expected final state is exactly the
//! triple of the event's last operation (last-write-wins in wall-clock order; a delete is final).

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::api::Api;
use crate::google::Google;
use crate::retry_sql::sql;
use crate::world::{ACCOUNTS, CALS, Cal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Google,
    /// Plain SQL on `events`.
    Local,
    /// calsync's API (`/api/v1/events`).
    Api,
}

/// Where operations are made: Google (the emulator), PostgreSQL, calsync's API.
pub struct Ends<'a> {
    pub google: &'a Google,
    pub pool: &'a PgPool,
    pub api: &'a Api,
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
    /// Its calendar (and so its account) for good: an event never moves.
    pub cal: &'static Cal,
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
    /// Of `local_ops`, those made through calsync's API.
    pub api_ops: usize,
    /// Operations per account (index into `ACCOUNTS`).
    pub account_ops: [usize; ACCOUNTS.len()],
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

pub fn google_body(f: &Fields) -> serde_json::Value {
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({"summary": f.summary, "start": {"dateTime": at(f.start)}, "end": {"dateTime": at(f.end)}})
}

impl Model {
    pub fn new(seed: u64, label: &str) -> Self {
        Self {
            prefix: format!("{label}{seed}e"),
            events: Vec::new(),
            google_ops: 0,
            local_ops: 0,
            api_ops: 0,
            account_ops: [0; ACCOUNTS.len()],
            anomalies: Vec::new(),
            last_touched: None,
        }
    }

    pub fn by_tag(&self, tag: &str) -> Option<&Logical> {
        self.events.iter().find(|e| e.tag == tag)
    }

    /// One random operation (number `n` of the schedule).
    pub async fn step(&mut self, rng: &mut StdRng, n: usize, to: &Ends<'_>) {
        let side = match rng.random_range(0..10) {
            0..5 => Side::Google,
            5..8 => Side::Local,
            _ => Side::Api,
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
                if self.exists(side, idx, to).await {
                    match roll {
                        r if r < 0.58 => self.edit(rng, n, side, idx, false, to).await,
                        r if r < 0.86 => self.edit(rng, n, side, idx, true, to).await,
                        _ => self.delete(n, side, idx, to).await,
                    }
                    self.count(side, idx);
                    return;
                }
            }
        }
        // Counted by `insert` once made (a failed one is an anomaly: the seed fails).
        self.insert(rng, n, side, to).await;
    }

    fn count(&mut self, side: Side, idx: usize) {
        self.account_ops[self.events[idx].cal.account] += 1;
        match side {
            Side::Google => self.google_ops += 1,
            Side::Local => self.local_ops += 1,
            Side::Api => {
                self.local_ops += 1;
                self.api_ops += 1;
            }
        }
    }

    /// Google ops only on events live at the emulator, local ops only on live local rows.
    async fn exists(&mut self, side: Side, idx: usize, to: &Ends<'_>) -> bool {
        let e = &self.events[idx];
        match side {
            Side::Google => to.google.is_live(e.cal, &e.google_id).await,
            Side::Local | Side::Api => {
                let found: Result<Option<Uuid>, String> = sql(|_| {
                    sqlx::query_scalar(
                        "SELECT id FROM events WHERE deleted_at IS NULL
                            AND (id = $1 OR (calendar_id = $2 AND external_id = $3))
                          ORDER BY id = $1 DESC NULLS LAST LIMIT 1",
                    )
                    .bind(e.local_id)
                    .bind(e.cal.key)
                    .bind(&e.google_id)
                    .fetch_optional(to.pool)
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

    async fn insert(&mut self, rng: &mut StdRng, n: usize, side: Side, to: &Ends<'_>) {
        let tag = format!("{}{}", self.prefix, self.events.len() + 1);
        let cal = &CALS[rng.random_range(0..CALS.len())];
        let fields = random_fields(rng, &tag, 1);
        let (google_id, local_id) = match side {
            Side::Google => match to.google.user_insert(cal, google_body(&fields)).await {
                Ok(id) => (id, None),
                Err(e) => return self.anomalies.push(format!("#{n} google insert: {e}")),
            },
            Side::Api => match to.api.create(cal, &fields).await {
                Ok(id) => (id.simple().to_string(), Some(id)),
                Err(e) => return self.anomalies.push(format!("#{n} {e}")),
            },
            Side::Local => {
                let id = Uuid::new_v4();
                let done = sql(|retry| {
                    let q = sqlx::query(
                        "INSERT INTO events (id, calendar_id, summary, start_at, end_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(id)
                    .bind(cal.key)
                    .bind(&fields.summary)
                    .bind(fields.start)
                    .bind(fields.end)
                    .execute(to.pool);
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
            history: vec![format!("#{n} {side:?} insert {} -> {fields}", cal.key)],
            tag,
            cal,
            google_id,
            local_id,
            state: Some(fields),
            version: 1,
        });
        self.last_touched = Some(self.events.len() - 1);
        self.count(side, self.events.len() - 1);
    }

    async fn edit(
        &mut self,
        rng: &mut StdRng,
        n: usize,
        side: Side,
        idx: usize,
        time: bool,
        to: &Ends<'_>,
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
                to.google
                    .user_patch(e.cal, &e.google_id, google_body(&next))
                    .await
            }
            Side::Api => match e.local_id {
                Some(id) => to.api.patch(e.cal, id, &next).await,
                None => Err("no local id".into()),
            },
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
                    .execute(to.pool)
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

    async fn delete(&mut self, n: usize, side: Side, idx: usize, to: &Ends<'_>) {
        let e = &self.events[idx];
        let done = match side {
            Side::Google => to.google.user_delete(e.cal, &e.google_id).await,
            Side::Api => match e.local_id {
                Some(id) => to.api.delete(e.cal, id).await,
                None => Err("no local id".into()),
            },
            Side::Local => {
                let id = e.local_id;
                sql(|_| {
                    sqlx::query(
                        "UPDATE events SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL",
                    )
                    .bind(id)
                    .execute(to.pool)
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
