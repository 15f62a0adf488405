//! The worker runner (`calsync::runner`) against a real database: a NOTIFY wakes it long before its
//! sweep, a LISTEN connection lost or missing at start comes back, the heartbeat runs while items are
//! in flight, and shutdown waits for them and claims no more.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use calsync::runner::{self, Claimed, Work};
use calsync_testkit::{admin_exec, create_database};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinError;
use tokio_util::sync::CancellationToken;

const CHANNEL: &str = "calsync_runner_test";

/// A queue of numbers: each claim takes what fits; an item with a gate runs until the gate opens.
#[derive(Clone, Default)]
struct Queue(Arc<State>);

#[derive(Default)]
struct State {
    waiting: Mutex<VecDeque<u32>>,
    gates: Mutex<HashMap<u32, oneshot::Receiver<()>>>,
    /// One message per claim: its free slots.
    claims: Mutex<Option<mpsc::UnboundedSender<usize>>>,
    settled: Mutex<Vec<u32>>,
    beats: AtomicUsize,
}

impl Work for Queue {
    type Item = u32;
    type Output = ();

    async fn claim(&self, free: usize, _woken: Vec<u32>) -> Claimed<u32> {
        if let Some(tx) = &*self.0.claims.lock().unwrap() {
            let _ = tx.send(free);
        }
        let mut waiting = self.0.waiting.lock().unwrap();
        let n = free.min(waiting.len());
        Claimed::items(waiting.drain(..n).collect())
    }

    fn process(&self, item: &u32) -> impl Future<Output = ()> + Send + 'static {
        let gate = self.0.gates.lock().unwrap().remove(item);
        async move {
            if let Some(gate) = gate {
                let _ = gate.await;
            }
        }
    }

    async fn settle(&self, item: u32, done: Result<(), JoinError>) {
        assert!(done.is_ok());
        self.0.settled.lock().unwrap().push(item);
    }

    async fn heartbeat(&self, in_flight: Vec<&u32>) {
        self.0.beats.fetch_add(in_flight.len(), Ordering::SeqCst);
    }
}

struct Running {
    queue: Queue,
    claims: mpsc::UnboundedReceiver<usize>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    pool: PgPool,
}

impl Running {
    /// Runs the queue on `pool` with this sweep and heartbeat.
    fn start(pool: PgPool, sweep: Duration, heartbeat: Option<Duration>) -> Self {
        let queue = Queue::default();
        let (tx, claims) = mpsc::unbounded_channel();
        *queue.0.claims.lock().unwrap() = Some(tx);
        let config = runner::Config {
            name: "test runner",
            channel: CHANNEL,
            slots: 4,
            sweep,
            heartbeat,
        };
        let stop = CancellationToken::new();
        let task = tokio::spawn(runner::run(
            queue.clone(),
            pool.clone(),
            config,
            None,
            stop.clone(),
        ));
        Self {
            queue,
            claims,
            stop,
            task,
            pool,
        }
    }

    /// The next claim's free slots, if one comes within `within`.
    async fn next_claim(&mut self, within: Duration) -> Option<usize> {
        tokio::time::timeout(within, self.claims.recv())
            .await
            .ok()
            .flatten()
    }

    fn forget_claims(&mut self) {
        while self.claims.try_recv().is_ok() {}
    }

    async fn notify(&self) {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(&self.pool)
            .await
            .unwrap();
    }

    fn push(&self, item: u32) {
        self.queue.0.waiting.lock().unwrap().push_back(item);
    }

    fn settled(&self) -> Vec<u32> {
        self.queue.0.settled.lock().unwrap().clone()
    }
}

async fn pool() -> (PgPool, String) {
    let (url, name) = create_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy(&url)
        .unwrap();
    (pool, name)
}

#[tokio::test]
async fn a_notify_wakes_the_runner_long_before_its_sweep() {
    let (pool, _) = pool().await;
    let mut r = Running::start(pool, Duration::from_secs(60), None);
    assert_eq!(
        r.next_claim(Duration::from_secs(10)).await,
        Some(4),
        "claim at start"
    );
    r.push(7);
    r.notify().await;
    assert!(
        r.next_claim(Duration::from_secs(10)).await.is_some(),
        "a NOTIFY did not wake the runner"
    );
    let settled = calsync_testkit::poll(Duration::from_secs(5), Duration::from_millis(20), || {
        let done = r.settled() == [7];
        async move { done }
    })
    .await;
    assert!(settled, "the claimed item was not run and settled");
    r.stop.cancel();
    r.task.await.unwrap();
}

#[tokio::test]
async fn a_lost_listen_connection_is_reconnected() {
    let (pool, name) = pool().await;
    let mut r = Running::start(pool, Duration::from_secs(60), None);
    assert!(r.next_claim(Duration::from_secs(10)).await.is_some());
    admin_exec(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;
    // Once reconnected, a NOTIFY wakes it again (the sweep alone would take a minute).
    let mut woken = false;
    for _ in 0..15 {
        r.forget_claims();
        r.notify().await;
        if r.next_claim(Duration::from_secs(1)).await.is_some() {
            woken = true;
            break;
        }
    }
    assert!(
        woken,
        "no NOTIFY woke the runner after its connection was cut"
    );
    // And keeps waking it: the reconnected listener is listening.
    tokio::time::sleep(Duration::from_millis(200)).await;
    r.forget_claims();
    r.notify().await;
    assert!(r.next_claim(Duration::from_secs(5)).await.is_some());
    r.stop.cancel();
    r.task.await.unwrap();
}

#[tokio::test]
async fn a_listen_connection_missing_at_start_is_made_later() {
    let (pool, name) = pool().await;
    admin_exec(&format!(
        r#"ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false"#
    ))
    .await;
    let sweep = Duration::from_secs(2);
    let mut r = Running::start(pool, sweep, None);
    assert!(r.next_claim(Duration::from_secs(10)).await.is_some());
    admin_exec(&format!(
        r#"ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true"#
    ))
    .await;
    // The runner tries again once per sweep; give it a few.
    tokio::time::sleep(3 * sweep).await;
    for round in 0..3 {
        // Right after a claim the next sweep is `sweep` away: a claim sooner is the NOTIFY's.
        r.forget_claims();
        assert!(
            r.next_claim(2 * sweep).await.is_some(),
            "round {round}: no sweep"
        );
        r.notify().await;
        assert!(
            r.next_claim(sweep / 2).await.is_some(),
            "round {round}: a NOTIFY did not wake the runner once PostgreSQL took connections"
        );
    }
    r.stop.cancel();
    r.task.await.unwrap();
}

#[tokio::test]
async fn shutdown_waits_for_items_in_flight_heartbeating_them_and_claims_no_more() {
    let (pool, _) = pool().await;
    let (open, gate) = oneshot::channel();
    let mut r = Running::start(
        pool,
        Duration::from_secs(60),
        Some(Duration::from_millis(100)),
    );
    r.queue.0.gates.lock().unwrap().insert(1, gate);
    assert!(r.next_claim(Duration::from_secs(10)).await.is_some());
    r.push(1);
    r.notify().await;
    assert!(r.next_claim(Duration::from_secs(10)).await.is_some());
    tokio::time::sleep(Duration::from_millis(550)).await;
    let beats = r.queue.0.beats.load(Ordering::SeqCst);
    assert!(beats >= 3, "{beats} heartbeats in 550 ms at 100 ms");
    r.stop.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !r.task.is_finished(),
        "the runner ended with an item in flight"
    );
    assert!(
        r.queue.0.beats.load(Ordering::SeqCst) > beats,
        "no heartbeat while draining"
    );
    r.forget_claims();
    r.push(2);
    r.notify().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        r.next_claim(Duration::ZERO).await,
        None,
        "claimed after shutdown"
    );
    let _ = open.send(());
    tokio::time::timeout(Duration::from_secs(5), &mut r.task)
        .await
        .expect("the runner did not end once its item finished")
        .unwrap();
    assert_eq!(r.settled(), [1]);
    assert_eq!(
        r.queue.0.waiting.lock().unwrap().len(),
        1,
        "item 2 was taken"
    );
}

#[tokio::test(start_paused = true)]
async fn with_heartbeat_beats_every_period_until_the_work_ends() {
    let beats = AtomicUsize::new(0);
    let out = runner::with_heartbeat(
        async {
            tokio::time::sleep(Duration::from_millis(350)).await;
            "done"
        },
        Duration::from_millis(100),
        || async {
            beats.fetch_add(1, Ordering::SeqCst);
        },
    )
    .await;
    assert_eq!(out, "done");
    assert_eq!(beats.load(Ordering::SeqCst), 3);
}
