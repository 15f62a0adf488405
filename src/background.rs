//! The process's background loops: spawned by name on children of the shutdown token, watched while
//! the server runs (a loop that ends or panics before shutdown is logged as an error), and stopped
//! together under one deadline, after which whatever still runs is aborted.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::task::{Id, JoinError, JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long aborted loops get to unwind (their futures dropped) before shutdown moves on.
const ABORT_WAIT: Duration = Duration::from_secs(1);

/// The running loops of one process.
pub struct Loops {
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
    names: HashMap<Id, &'static str>,
}

/// How one loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub name: &'static str,
    pub panicked: bool,
    /// Shutdown had been asked for.
    pub expected: bool,
}

impl Loops {
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            shutdown,
            tasks: JoinSet::new(),
            names: HashMap::new(),
        }
    }

    /// Spawns `run` with a child of the shutdown token.
    pub fn spawn<F, Fut>(&mut self, name: &'static str, run: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handle = self.tasks.spawn(run(self.shutdown.child_token()));
        self.names.insert(handle.id(), name);
    }

    /// Watches a loop spawned elsewhere; aborting it here aborts that task.
    pub fn adopt(&mut self, name: &'static str, handle: JoinHandle<()>) {
        self.spawn(name, |_| async move {
            let mut task = AbortOnDrop(handle);
            if let Err(e) = (&mut task.0).await
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        });
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Waits for the next loop to end and logs it (an error unless shutdown was asked for and it
    /// did not panic); never resolves while no loop runs. Cancel-safe.
    pub async fn next_exit(&mut self) -> Exit {
        match self.tasks.join_next_with_id().await {
            Some(done) => self.ended(done),
            None => std::future::pending().await,
        }
    }

    /// Waits for every loop until `deadline`, then aborts the rest; returns the names it aborted.
    pub async fn stop(mut self, deadline: Instant) -> Vec<&'static str> {
        loop {
            match tokio::time::timeout_at(deadline, self.tasks.join_next_with_id()).await {
                Ok(Some(done)) => {
                    self.ended(done);
                }
                Ok(None) => return Vec::new(),
                Err(_) => break,
            }
        }
        let mut aborted: Vec<&'static str> = self.names.values().copied().collect();
        aborted.sort_unstable();
        tracing::warn!(tasks = ?aborted, "background loops still running at the shutdown deadline; aborted");
        self.tasks.abort_all();
        let _ = tokio::time::timeout(ABORT_WAIT, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        aborted
    }

    fn ended(&mut self, done: Result<(Id, ()), JoinError>) -> Exit {
        let (id, panicked) = match &done {
            Ok((id, ())) => (*id, false),
            Err(e) => (e.id(), e.is_panic()),
        };
        let name = self.names.remove(&id).unwrap_or("unknown");
        let expected = self.shutdown.is_cancelled();
        if panicked {
            // The panic hook has printed the message.
            tracing::error!(task = name, "background loop panicked");
        } else if !expected {
            tracing::error!(task = name, "background loop exited before shutdown");
        } else {
            tracing::debug!(task = name, "background loop stopped");
        }
        Exit {
            name,
            panicked,
            expected,
        }
    }
}

/// Aborts the task when dropped (an adopted loop dies with its watcher).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_loop_that_ends_before_shutdown_is_reported() {
        let token = CancellationToken::new();
        let mut loops = Loops::new(token.clone());
        loops.spawn("quitter", |_| async {});
        let exit = loops.next_exit().await;
        assert_eq!(
            exit,
            Exit {
                name: "quitter",
                panicked: false,
                expected: false
            }
        );
    }

    #[tokio::test]
    async fn a_panicking_adopted_loop_is_reported_as_a_panic() {
        let mut loops = Loops::new(CancellationToken::new());
        loops.adopt("panicker", tokio::spawn(async { panic!("boom") }));
        let exit = loops.next_exit().await;
        assert_eq!(exit.name, "panicker");
        assert!(exit.panicked);
    }

    #[tokio::test]
    async fn loops_that_watch_the_token_stop_without_aborts() {
        let token = CancellationToken::new();
        let mut loops = Loops::new(token.clone());
        loops.spawn("polite", |t| async move { t.cancelled().await });
        token.cancel();
        let aborted = loops.stop(Instant::now() + Duration::from_secs(5)).await;
        assert!(aborted.is_empty());
    }

    #[tokio::test]
    async fn loops_past_the_deadline_are_aborted_with_what_they_own() {
        let token = CancellationToken::new();
        let mut loops = Loops::new(token.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        // Ignores the token; its sender is dropped when the task is aborted.
        loops.spawn("stubborn", |_| async move {
            let _tx = tx;
            std::future::pending::<()>().await
        });
        let inner = tokio::spawn(std::future::pending::<()>());
        let inner_abort = inner.abort_handle();
        loops.adopt("adopted", inner);
        token.cancel();
        let started = std::time::Instant::now();
        let aborted = loops
            .stop(Instant::now() + Duration::from_millis(200))
            .await;
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(aborted, vec!["adopted", "stubborn"]);
        assert!(rx.await.is_err(), "the stubborn loop's future was dropped");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            inner_abort.is_finished(),
            "the adopted task was aborted too"
        );
    }
}
