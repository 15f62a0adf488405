//! Group commit of push marks: concurrent webhook requests hand their calendar to one task that
//! marks every waiting calendar pending in a single UPDATE, then answers them all. Each push is
//! still acknowledged only after its mark is durable; under load one statement serves many pushes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Pushes taken into one statement at most.
const MAX_BATCH: usize = 1024;
/// Client-side bound on one mark (pool acquire and the UPDATE): a half-open connection must turn
/// into 503s Google retries, not into every webhook request hanging behind the marking task.
const MARK_TIMEOUT: Duration = Duration::from_secs(10);

type Waiter = oneshot::Sender<Result<(), ()>>;

/// One accepted push: its calendar, and the channel and message number it came with.
#[derive(Debug, Clone)]
pub struct Mark {
    pub calendar_id: String,
    pub channel_id: String,
    pub message_number: i64,
}

/// Handle used by the webhook; cheap to clone.
#[derive(Clone)]
pub struct PendingMarker {
    tx: mpsc::Sender<(Mark, Waiter)>,
}

impl PendingMarker {
    /// Starts the marking task (returned, for the caller to watch); it stops with `shutdown` (later
    /// marks fail, so pushes get 503).
    /// Calendars a mark made runnable are sent on `wake` (the local sync worker claims them at once).
    pub fn start(
        pool: PgPool,
        wake: Option<mpsc::UnboundedSender<String>>,
        shutdown: CancellationToken,
    ) -> (Self, JoinHandle<()>) {
        Self::start_with_timeout(pool, wake, shutdown, MARK_TIMEOUT)
    }

    fn start_with_timeout(
        pool: PgPool,
        wake: Option<mpsc::UnboundedSender<String>>,
        shutdown: CancellationToken,
        timeout: Duration,
    ) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let task = tokio::spawn(run(pool, rx, wake, shutdown, timeout));
        (Self { tx }, task)
    }

    /// Marks the push's calendar pending (and notes its channel's message); Ok once committed.
    pub async fn mark(&self, mark: Mark) -> Result<(), ()> {
        let (done, wait) = oneshot::channel();
        self.tx.send((mark, done)).await.map_err(|_| ())?;
        wait.await.unwrap_or(Err(()))
    }
}

async fn run(
    pool: PgPool,
    mut rx: mpsc::Receiver<(Mark, Waiter)>,
    wake: Option<mpsc::UnboundedSender<String>>,
    shutdown: CancellationToken,
    timeout: Duration,
) {
    let mut batch: Vec<(Mark, Waiter)> = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => break,
            first = rx.recv() => first,
        };
        let Some(first) = first else { break };
        batch.push(first);
        // No waiting for company: whatever queued while the last statement ran joins this one.
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let ids: Vec<String> = batch
            .iter()
            .map(|(m, _)| m.calendar_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut newest: BTreeMap<String, i64> = BTreeMap::new();
        for (m, _) in &batch {
            let n = newest
                .entry(m.channel_id.clone())
                .or_insert(m.message_number);
            *n = (*n).max(m.message_number);
        }
        let channels: Vec<(String, i64)> = newest.into_iter().collect();
        let marked = tokio::time::timeout(
            timeout,
            crate::db::sync_state::mark_pending_pushes(&pool, &ids, &channels),
        )
        .await;
        let result = match marked {
            Ok(Ok(runnable)) => {
                if let Some(wake) = &wake {
                    for id in runnable {
                        let _ = wake.send(id);
                    }
                }
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::warn!(error.cause = %e, calendars = ids.len(), "push marks not committed; Google will retry");
                Err(())
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = timeout.as_millis() as u64,
                    calendars = ids.len(),
                    "push marks timed out; Google will retry"
                );
                Err(())
            }
        };
        for (_, waiter) in batch.drain(..) {
            let _ = waiter.send(result);
        }
    }
    rx.close();
    while let Ok((_, waiter)) = rx.try_recv() {
        let _ = waiter.send(Err(()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_database_that_never_answers_fails_the_mark_instead_of_hanging() {
        // Accepts connections and never answers: a half-open PostgreSQL as the client sees it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let held = tokio::spawn(async move {
            let mut sockets = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                sockets.push(socket);
            }
        });
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(600))
            .connect_lazy(&format!("postgres://calsync@{addr}/calsync"))
            .unwrap();
        let (marker, _task) = PendingMarker::start_with_timeout(
            pool,
            None,
            CancellationToken::new(),
            Duration::from_millis(200),
        );
        let mark = Mark {
            calendar_id: "primary".into(),
            channel_id: "chan".into(),
            message_number: 2,
        };
        let out = tokio::time::timeout(Duration::from_secs(5), marker.mark(mark))
            .await
            .expect("the mark must be bounded in time");
        assert_eq!(out, Err(()));
        held.abort();
    }
}
