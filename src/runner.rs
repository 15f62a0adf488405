//! The worker runner: wakes on `LISTEN` (reconnecting), sweeps on a timer as a backstop, claims work
//! into free slots, runs each item in a task of its own, heartbeats the leases in flight, and drains
//! at shutdown.
//!
//! Both queues run on it, each a [`Work`] (what to claim, how to run one item, how to record its end,
//! how to keep its lease): the sync worker (`sync::worker`, pending calendars, `NOTIFY calsync_sync`)
//! and the outbox writer (`writer`, local changes to send, `NOTIFY calsync_outbox`). The loop, [`run`]:
//!
//! 1. claim at start, after items finish, on a NOTIFY, an in-process wake and the sweep (sooner when
//!    the claim asks); start what was claimed up to the free slots, never two of one [`Work::key`];
//! 2. wait for an item to finish (settled with any others already finished), the heartbeat (while
//!    items are in flight), a wake-up, or shutdown;
//! 3. at shutdown, claim no more; settle and heartbeat until nothing is in flight (the process
//!    aborts whatever outlives its deadline).
//!
//! The LISTEN connection comes from the pool; when it drops, sqlx reconnects it on the next wait
//! ([`crate::db::wait_notification`] pauses when it cannot); when there was none to begin with
//! (PostgreSQL unreachable at start), the runner sweeps and tries to connect once per sweep.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// How one runner is set up.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The loop's name in its logs ("sync worker", "outbox writer").
    pub name: &'static str,
    /// The NOTIFY channel that wakes it.
    pub channel: &'static str,
    /// Items in flight at most.
    pub slots: usize,
    /// Backstop sweep when no notification arrives.
    pub sweep: Duration,
    /// How often [`Work::heartbeat`] runs while items are in flight; None when the items keep
    /// their own leases.
    pub heartbeat: Option<Duration>,
}

/// What one claim found.
#[derive(Debug)]
pub struct Claimed<T> {
    /// Items to start, in order: as many as there are free slots are started, the rest dropped
    /// (they are claimed again later).
    pub items: Vec<T>,
    /// Some work was held back for now: claim again after this pause rather than the full sweep.
    pub again_in: Option<Duration>,
}

impl<T> Claimed<T> {
    pub fn items(items: Vec<T>) -> Self {
        Self {
            items,
            again_in: None,
        }
    }

    pub fn none() -> Self {
        Self::items(Vec::new())
    }
}

/// One kind of work the runner runs.
pub trait Work: Send + Sync + 'static {
    type Item: Send + Sync + 'static;
    type Output: Send + 'static;

    /// Claims work for `free` slots (0 when all are busy: a claim may still tell when to look
    /// again). `woken` holds the items this process was handed in-process since the last claim.
    fn claim(
        &self,
        free: usize,
        woken: Vec<Self::Item>,
    ) -> impl Future<Output = Claimed<Self::Item>> + Send;

    /// The future that runs one item, in a task of its own.
    fn process(&self, item: &Self::Item) -> impl Future<Output = Self::Output> + Send + 'static;

    /// Records how one item ended: its output, or its task's panic (or abort).
    fn settle(
        &self,
        item: Self::Item,
        done: Result<Self::Output, JoinError>,
    ) -> impl Future<Output = ()> + Send;

    /// Keeps the leases of the items in flight; called every [`Config::heartbeat`].
    fn heartbeat(&self, _in_flight: Vec<&Self::Item>) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }

    /// Two items with the same key never run at once in this process: a claimed item whose key is
    /// in flight is not started. None (the default): no such rule.
    fn key<'a>(&self, _item: &'a Self::Item) -> Option<&'a str> {
        None
    }
}

/// Runs `work` until `shutdown`, then until its items in flight are settled. `wake` carries items
/// this process already knows are runnable (handed to the next claim as `woken`).
pub async fn run<W: Work>(
    work: W,
    pool: PgPool,
    config: Config,
    mut wake: Option<mpsc::UnboundedReceiver<W::Item>>,
    shutdown: CancellationToken,
) {
    let (retry_at, listener) = (Instant::now(), None);
    let mut listen = Listen {
        pool,
        config,
        listener,
        retry_at,
    };
    if !shutdown.is_cancelled() {
        listen.connect(true).await;
    }
    let mut in_flight = InFlight::default();
    let mut beat = config.heartbeat.map(heartbeat);
    let mut woken = Vec::new();
    let (mut claim, mut pause) = (true, config.sweep);
    loop {
        let stopping = shutdown.is_cancelled();
        if stopping && in_flight.is_empty() {
            break;
        }
        if claim && !stopping {
            claim = false;
            let free = config.slots.saturating_sub(in_flight.len());
            let claimed = work.claim(free, std::mem::take(&mut woken)).await;
            pause = claimed.again_in.unwrap_or(config.sweep);
            start(&work, &mut in_flight, claimed.items, config.slots);
        }
        tokio::select! {
            Some(first) = in_flight.next() => {
                // Whatever else finished meanwhile is settled before claiming again.
                let mut finished = vec![first];
                while let Some(more) = in_flight.try_next() {
                    finished.push(more);
                }
                for (item, done) in finished {
                    work.settle(item, done).await;
                }
                claim = true;
            }
            _ = or_never(beat.as_mut().map(Interval::tick)), if !in_flight.is_empty() => {
                work.heartbeat(in_flight.items().collect()).await;
            }
            Some(item) = or_never(wake.as_mut().map(|w| w.recv())), if !stopping => {
                woken.push(item);
                while let Some(Ok(more)) = wake.as_mut().map(|w| w.try_recv()) {
                    woken.push(more);
                }
                claim = true;
            }
            _ = shutdown.cancelled(), if !stopping => {}
            _ = listen.wait(pause), if !stopping => claim = true,
        }
    }
    tracing::debug!("{} stopped", config.name);
}

/// Starts `items` while slots are free, skipping any whose key is already in flight.
fn start<W: Work>(
    work: &W,
    in_flight: &mut InFlight<W::Item, W::Output>,
    items: Vec<W::Item>,
    slots: usize,
) {
    for item in items {
        if in_flight.len() >= slots {
            break;
        }
        if let Some(key) = work.key(&item)
            && in_flight.items().any(|i| work.key(i) == Some(key))
        {
            continue;
        }
        let run = work.process(&item);
        in_flight.spawn(item, run);
    }
}

/// Items being run, each in its own task; dropping it aborts them (their leases lapse and they are
/// claimed again).
pub struct InFlight<I, O> {
    tasks: JoinSet<O>,
    items: HashMap<Id, I>,
}

impl<I, O> Default for InFlight<I, O> {
    fn default() -> Self {
        Self {
            tasks: JoinSet::new(),
            items: HashMap::new(),
        }
    }
}

impl<I, O: Send + 'static> InFlight<I, O> {
    /// Starts running `item` (the future `run`).
    pub fn spawn(&mut self, item: I, run: impl Future<Output = O> + Send + 'static) {
        let handle = self.tasks.spawn(run);
        self.items.insert(handle.id(), item);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items in flight (whose leases must be kept alive).
    pub fn items(&self) -> impl Iterator<Item = &I> {
        self.items.values()
    }

    /// The next item to finish, with its outcome (None when none is in flight). Cancel-safe.
    pub async fn next(&mut self) -> Option<(I, Result<O, JoinError>)> {
        let done = self.tasks.join_next_with_id().await?;
        self.take(done)
    }

    /// An item that has already finished, if any.
    pub fn try_next(&mut self) -> Option<(I, Result<O, JoinError>)> {
        let done = self.tasks.try_join_next_with_id()?;
        self.take(done)
    }

    fn take(&mut self, done: Result<(Id, O), JoinError>) -> Option<(I, Result<O, JoinError>)> {
        let (id, done) = match done {
            Ok((id, output)) => (id, Ok(output)),
            Err(e) => (e.id(), Err(e)),
        };
        Some((self.items.remove(&id)?, done))
    }
}

/// Ticks every `period`, the first tick one period from now; a late tick is not caught up.
pub fn heartbeat(period: Duration) -> Interval {
    let mut beat = tokio::time::interval_at(Instant::now() + period, period);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    beat
}

/// Runs `work` to its end, calling `beat` every `period` meanwhile: the heartbeat of a lease held
/// by one run (a sync run's calendar).
pub async fn with_heartbeat<T, B, F>(
    work: impl Future<Output = T>,
    period: Duration,
    mut beat: B,
) -> T
where
    B: FnMut() -> F,
    F: Future<Output = ()>,
{
    tokio::pin!(work);
    let mut ticks = heartbeat(period);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = ticks.tick() => beat().await,
        }
    }
}

/// `fut`'s output, or never when there is no `fut`.
async fn or_never<F: Future>(fut: Option<F>) -> F::Output {
    match fut {
        Some(fut) => fut.await,
        None => std::future::pending().await,
    }
}

/// The runner's LISTEN connection, if it has one.
struct Listen {
    pool: PgPool,
    config: Config,
    listener: Option<PgListener>,
    /// Without a connection: when to try connecting again.
    retry_at: Instant,
}

impl Listen {
    /// Tries to connect; the `first` attempt's failure is a warning, later ones are not.
    async fn connect(&mut self, first: bool) {
        let name = self.config.name;
        self.retry_at = Instant::now() + self.config.sweep;
        match crate::db::listen(&self.pool, self.config.channel).await {
            Ok(l) => {
                if !first {
                    tracing::info!("{name}: LISTEN connection established");
                }
                self.listener = Some(l);
            }
            Err(e) if first => {
                tracing::warn!(error.cause = %e, "{name}: no LISTEN connection; sweeping only");
            }
            Err(e) => tracing::debug!(error.cause = %e, "{name}: still no LISTEN connection"),
        }
    }

    /// Waits up to `timeout` for a notification; without a connection, waits `timeout` and then
    /// (at most once per sweep) tries to connect.
    async fn wait(&mut self, timeout: Duration) {
        if self.listener.is_some() {
            return crate::db::wait_notification(&mut self.listener, timeout).await;
        }
        tokio::time::sleep(timeout).await;
        if Instant::now() < self.retry_at {
            return;
        }
        self.connect(false).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Items are names; each runs the future its name maps to (ready when absent).
    struct Named(Mutex<HashMap<&'static str, tokio::sync::oneshot::Receiver<()>>>);

    impl Work for Named {
        type Item = &'static str;
        type Output = ();

        async fn claim(&self, _: usize, woken: Vec<&'static str>) -> Claimed<&'static str> {
            Claimed::items(woken)
        }

        fn process(&self, item: &&'static str) -> impl Future<Output = ()> + Send + 'static {
            let gate = self.0.lock().unwrap().remove(item);
            let panics = *item == "panics";
            async move {
                assert!(!panics, "boom");
                if let Some(gate) = gate {
                    let _ = gate.await;
                }
            }
        }

        async fn settle(&self, _: &'static str, _: Result<(), JoinError>) {}

        fn key<'a>(&self, item: &'a &'static str) -> Option<&'a str> {
            Some(item)
        }
    }

    #[tokio::test]
    async fn a_panicking_item_frees_its_key() {
        let work = Named(Mutex::default());
        let mut in_flight = InFlight::default();
        start(&work, &mut in_flight, vec!["panics"], 4);
        assert!(in_flight.items().any(|i| *i == "panics"));
        let (item, done) = in_flight.next().await.unwrap();
        assert_eq!(item, "panics");
        assert!(done.as_ref().is_err_and(JoinError::is_panic));
        assert!(in_flight.is_empty(), "item still marked in flight");
        start(&work, &mut in_flight, vec!["panics"], 4);
        assert_eq!(in_flight.len(), 1, "a panicked item can run again");
    }

    #[tokio::test]
    async fn an_item_already_in_flight_is_not_started_twice() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let work = Named(Mutex::new(HashMap::from([("cal", rx)])));
        let mut in_flight = InFlight::default();
        start(&work, &mut in_flight, vec!["cal", "cal"], 4);
        start(&work, &mut in_flight, vec!["cal"], 4);
        assert_eq!(in_flight.len(), 1);
        let _ = tx.send(());
        let (_, done) = in_flight.next().await.unwrap();
        assert!(done.is_ok());
        assert!(in_flight.is_empty());
    }

    #[tokio::test]
    async fn no_more_items_start_than_there_are_slots() {
        let work = Named(Mutex::default());
        let mut in_flight = InFlight::default();
        start(&work, &mut in_flight, vec!["a", "b", "c"], 2);
        assert_eq!(in_flight.len(), 2);
        let mut started: Vec<_> = in_flight.items().copied().collect();
        started.sort();
        assert_eq!(started, ["a", "b"]);
    }
}
