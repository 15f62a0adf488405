//! The fallback poll and safety sync run on one replica at a time (an advisory lock): when that
//! leader stops, a follower takes its place within the poll interval.

use std::time::Duration;

use calsync::sync::poll::{self, Intervals};
use calsync_testkit::{TestApp, wait_for};
use tokio_util::sync::CancellationToken;

async fn all_pending(app: &TestApp) -> bool {
    sqlx::query_scalar::<_, bool>("SELECT bool_and(pending) AND count(*) > 0 FROM sync_state")
        .fetch_one(&app.pool)
        .await
        .unwrap_or(false)
}

/// Every calendar synced an hour ago and not pending: due for the poll.
async fn stale(app: &TestApp) {
    sqlx::query(
        "UPDATE sync_state SET pending = FALSE, last_success_at = now() - interval '1 hour'",
    )
    .execute(&app.pool)
    .await
    .expect("calendars made due");
}

/// Regression (found by the convergence suite's three-replica runs): a follower retried to lead once
/// a minute whatever the interval, so after the leader was killed no calendar was polled or
/// safety-synced for up to a minute (a run converged in 61.6 s with 2 s intervals).
#[tokio::test]
async fn a_follower_takes_over_the_fallback_poll_within_its_interval() {
    let app = TestApp::builder()
        .with_env(&[("CALSYNC__SERVER__WORKERS_ENABLED", "false")])
        .spawn()
        .await;
    let every = Intervals {
        poll: Duration::from_secs(1),
        safety: Duration::from_secs(1),
    };
    stale(&app).await;
    let leader = CancellationToken::new();
    let first = tokio::spawn(poll::run(app.pool.clone(), every, leader.clone()));
    wait_for("the leader's poll", Duration::from_secs(10), || {
        all_pending(&app)
    })
    .await;
    let follower = CancellationToken::new();
    let second = tokio::spawn(poll::run(app.pool.clone(), every, follower.clone()));
    // The second one finds the lock taken and waits as a follower.
    tokio::time::sleep(Duration::from_millis(500)).await;
    leader.cancel();
    first.await.expect("the leader stops");
    stale(&app).await;
    wait_for("the follower's poll", Duration::from_secs(5), || {
        all_pending(&app)
    })
    .await;
    follower.cancel();
    second.await.expect("the follower stops");
}
