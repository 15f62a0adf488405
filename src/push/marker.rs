//! Group commit of push marks: concurrent webhook requests hand their calendar to one task that
//! marks every waiting calendar pending in a single UPDATE, then answers them all. Each push is
//! still acknowledged only after its mark is durable; under load one statement serves many pushes.

use std::collections::BTreeSet;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Pushes taken into one statement at most.
const MAX_BATCH: usize = 1024;

type Waiter = oneshot::Sender<Result<(), ()>>;

/// Handle used by the webhook; cheap to clone.
#[derive(Clone)]
pub struct PendingMarker {
    tx: mpsc::Sender<(String, Waiter)>,
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
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let task = tokio::spawn(run(pool, rx, wake, shutdown));
        (Self { tx }, task)
    }

    /// Marks `calendar_id` pending; Ok once the mark is committed.
    pub async fn mark(&self, calendar_id: &str) -> Result<(), ()> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((calendar_id.to_string(), done))
            .await
            .map_err(|_| ())?;
        wait.await.unwrap_or(Err(()))
    }
}

async fn run(
    pool: PgPool,
    mut rx: mpsc::Receiver<(String, Waiter)>,
    wake: Option<mpsc::UnboundedSender<String>>,
    shutdown: CancellationToken,
) {
    let mut batch: Vec<(String, Waiter)> = Vec::with_capacity(MAX_BATCH);
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
            .map(|(id, _)| id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let result = crate::sync::state::mark_pending_pushes(&pool, &ids).await;
        match &result {
            Ok(runnable) => {
                if let Some(wake) = &wake {
                    for id in runnable {
                        let _ = wake.send(id.clone());
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error.cause = %e, calendars = ids.len(), "push marks not committed; Google will retry")
            }
        }
        for (_, waiter) in batch.drain(..) {
            let _ = waiter.send(result.as_ref().map(|_| ()).map_err(|_| ()));
        }
    }
    rx.close();
    while let Ok((_, waiter)) = rx.try_recv() {
        let _ = waiter.send(Err(()));
    }
}
