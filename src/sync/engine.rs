//! One sync run of one calendar: incremental `events.list` over all pages, each page in one transaction,
//! the token saved with the last page; 410 turns the run into a full resync that reconciles deletions.

use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::PgPool;

use super::mapping::MappingError;
use super::reconcile::{self, Window};
use super::store::{self, Counts};
use crate::config::SyncRange;
use crate::db::events::GoogleVersion;
use crate::db::from_google::{self, GoogleTx};
use crate::db::sync_state::{self as state, Claim};
use crate::google::{Event, GoogleClient, GoogleError, ListParams};
use crate::notify::{EventSummary, TelegramNotifier};

/// Lease held on a calendar while its run is in progress (renewed after every page).
/// A run's lease: short, so a crashed process blocks its calendar for seconds, and kept alive by a
/// heartbeat every [`HEARTBEAT`] while the run is in flight (pages, retries, slow answers).
pub const LEASE: Duration = Duration::from_secs(15);
/// How often a running sync extends its lease.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// What a finished run did.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct RunReport {
    pub full: bool,
    pub pages: u32,
    pub counts: Counts,
    pub elapsed_ms: u64,
}

/// Why a run failed; `permanent` pauses the calendar until an operator acts.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("google: {0}")]
    Google(#[from] GoogleError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("google sent an event calsync cannot read: {0}")]
    Mapping(#[from] MappingError),
    #[error("the calendar's lease was lost to another worker")]
    LeaseLost,
    #[error("a full listing was answered with 410 again")]
    RepeatedGone,
    #[error("the last page carried no nextSyncToken")]
    NoSyncToken,
}

impl RunError {
    /// A reason to pause the calendar (no retry until fixed), or None for a transient failure.
    pub fn permanent_reason(&self) -> Option<String> {
        match self {
            Self::Google(e) if e.is_permanent() => Some(e.short_reason()),
            _ => None,
        }
    }
}

/// Inputs of a run that do not change between runs.
pub struct RunContext<'a> {
    pub pool: &'a PgPool,
    pub client: &'a GoogleClient,
    pub page_size: u32,
    pub sync_range: Option<SyncRange>,
    pub notifier: Option<&'a TelegramNotifier>,
}

/// Runs one sync of a claimed calendar. The caller releases the claim on failure.
pub async fn run(
    ctx: &RunContext<'_>,
    claim: &Claim,
    force_full: bool,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let mut report = RunReport::default();
    let mut token = if force_full || claim.full_requested {
        None
    } else {
        claim.sync_token.clone()
    };
    loop {
        match list_all(ctx, claim, token.as_deref(), &mut report).await {
            Ok(()) => break,
            Err(RunError::Google(e)) if e.is_sync_token_invalid() && token.is_some() => {
                tracing::info!(calendar = %claim.calendar_id, "sync token expired (410): full resync");
                token = None;
            }
            Err(RunError::Google(e)) if e.is_sync_token_invalid() => {
                return Err(RunError::RepeatedGone);
            }
            Err(e) => return Err(e),
        }
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Lists every page for `token` (None = full listing) and applies it. The next page is fetched
/// while the current one is written, so Google's latency and PostgreSQL's overlap.
async fn list_all(
    ctx: &RunContext<'_>,
    claim: &Claim,
    token: Option<&str>,
    report: &mut RunReport,
) -> Result<(), RunError> {
    let full = token.is_none();
    report.full = full;
    let listing_started = Utc::now();
    // A full listing limited by `sync_range` sees only the window: one window for every page and
    // for the reconciliation, which must leave rows outside it alone.
    let window = ctx
        .sync_range
        .filter(|_| full)
        .map(|range| Window::around(listing_started, range));
    let mut seen: Vec<String> = Vec::new();
    let mut counts = Counts::default();
    let mut pages = 0u32;
    let fetch = |page_token: Option<String>| async move {
        let params = list_params(ctx, token, page_token, window);
        ctx.client.list_events(&claim.google_id, &params).await
    };
    let mut page = fetch(None).await?;
    // What the listing shows is at least as recent as its first page's answered request (after
    // any retry wait, which may be long: a quota exhausted): rows Google updated before that and
    // did not list are gone at Google.
    let listed_from = page.requested_at.unwrap_or(listing_started);
    loop {
        pages += 1;
        let rows = page
            .raw_items()
            .iter()
            .map(GoogleVersion::from_google)
            .collect::<Result<Vec<_>, _>>()?;
        if full {
            seen.extend(rows.iter().map(|r| r.external_id.clone()));
        }
        let step = PageStep {
            rows,
            full,
            first: pages == 1,
            time_zone: page.time_zone.as_deref(),
            // The token comes with the last page; the full listing's reconciliation runs there too.
            last: match &page.next_page_token {
                Some(_) => None,
                None => Some((
                    page.next_sync_token
                        .as_deref()
                        .ok_or(RunError::NoSyncToken)?,
                    full.then_some(FullListing {
                        seen: seen.as_slice(),
                        started: listed_from,
                        window,
                    }),
                )),
            },
        };
        let Some(next_token) = page.next_page_token.clone() else {
            counts.add(apply(ctx, claim, step).await?);
            break;
        };
        let (applied, next) = tokio::join!(apply(ctx, claim, step), fetch(Some(next_token)));
        counts.add(applied?);
        if !state::heartbeat(ctx.pool, claim, LEASE).await? {
            return Err(RunError::LeaseLost);
        }
        page = next?;
    }
    tracing::debug!(calendar = %claim.calendar_id, pages, "last page committed with new token");
    report.pages += pages;
    report.counts.add(counts);
    Ok(())
}

/// One page to write; `last` carries the new sync token and, for a full listing, the ids it saw.
struct PageStep<'a> {
    rows: Vec<GoogleVersion>,
    /// Part of a full listing (no "event modified" messages).
    full: bool,
    first: bool,
    time_zone: Option<&'a str>,
    last: Option<(&'a str, Option<FullListing<'a>>)>,
}

/// What a full listing saw (every id), when it began and the window it covered, for reconciling deletions.
struct FullListing<'a> {
    seen: &'a [String],
    started: chrono::DateTime<Utc>,
    window: Option<Window>,
}

/// Writes one page in one transaction (with the token when it is the last), then queues the
/// "event modified" messages it implies.
async fn apply(
    ctx: &RunContext<'_>,
    claim: &Claim,
    step: PageStep<'_>,
) -> Result<Counts, RunError> {
    // Before/after of events Google changed, for "event modified" (incremental runs only:
    // a first import or a resync is not news).
    let before = match ctx.notifier {
        Some(_) if !step.full => {
            from_google::previous_versions(ctx.pool, &claim.calendar_id, &step.rows).await?
        }
        _ => Vec::new(),
    };
    let mut tx = GoogleTx::begin(ctx.pool).await?;
    if step.first
        && let Some(tz) = step.time_zone
        && claim.time_zone.as_deref() != Some(tz)
    {
        from_google::remember_time_zone(&mut tx, &claim.calendar_id, tz).await?;
    }
    let page_events: Vec<Event> = if before.is_empty() {
        Vec::new()
    } else {
        step.rows.iter().filter_map(|r| read(&r.raw)).collect()
    };
    let mut counts =
        store::apply_page(&mut tx, &claim.calendar_id, &claim.casquette, step.rows).await?;
    if let Some((next, reconcile)) = step.last {
        if let Some(listing) = reconcile {
            counts.deleted += reconcile::reconcile_full(
                &mut tx,
                &claim.calendar_id,
                listing.seen,
                listing.started,
                listing.window,
            )
            .await?;
        }
        if !state::save_token(tx.transaction(), claim, next).await? {
            return Err(RunError::LeaseLost);
        }
    }
    tx.commit().await?;
    notify_modified(ctx, claim, &before, &page_events);
    Ok(counts)
}

fn list_params(
    ctx: &RunContext<'_>,
    token: Option<&str>,
    page_token: Option<String>,
    window: Option<Window>,
) -> ListParams {
    ListParams {
        sync_token: token.map(str::to_string),
        page_token,
        max_results: Some(ctx.page_size),
        time_min: window.map(|w| w.from),
        time_max: window.map(|w| w.until),
        ..ListParams::default()
    }
}

/// Queues one "event modified" message per event whose time or place changed at Google.
fn notify_modified(
    ctx: &RunContext<'_>,
    claim: &Claim,
    before: &[(String, serde_json::Value)],
    after: &[Event],
) {
    let Some(notifier) = ctx.notifier else { return };
    if before.is_empty() {
        return;
    }
    // Times read in the calendar's zone (Google's, as stored) when an event names none.
    let tz = claim
        .time_zone
        .as_deref()
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::UTC);
    for new in after {
        if new.is_cancelled() {
            continue;
        }
        let Some(id) = new.id.as_deref() else {
            continue;
        };
        let Some(old) = before
            .iter()
            .find(|(k, _)| k == id)
            .and_then(|(_, v)| read(v))
        else {
            continue;
        };
        if old.etag == new.etag {
            continue;
        }
        if let (Some(a), Some(b)) = (
            EventSummary::from_event(&old, &claim.casquette, tz),
            EventSummary::from_event(new, &claim.casquette, tz),
        ) {
            notifier.notify_event_modified(&a, &b);
        }
    }
}

/// A stored or listed event's JSON, typed.
fn read(raw: &serde_json::Value) -> Option<Event> {
    Event::read(raw).ok().map(|r| r.event)
}
