//! The writer's loop (`Writer::run`): each entry settled as it finishes, new ones claimed meanwhile.

use std::time::Duration;

use calsync_testkit::wait_for;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::writer::{consult, env};

#[tokio::test]
async fn an_entry_stuck_on_a_slow_calendar_holds_back_no_other() {
    let e = env().await;
    // Google answers the medecin calendar (primary) after 20 s, the others at once.
    e.google
        .set_faults(json!({"latency_ms": 20_000, "slow_calendars": ["primary"]}))
        .await;
    let stop = CancellationToken::new();
    let writer = tokio::spawn(e.writer.clone().run(stop.clone()));
    e.api_post(consult()).await;
    wait_for(
        "the slow insert in flight",
        Duration::from_secs(10),
        || async { e.google.count("events.insert").await >= 1 },
    )
    .await;
    let mut lesson = consult();
    lesson["casquette"] = json!("enseignant");
    let created = e.api_post(lesson).await;
    let google_id = created["id"].as_str().unwrap().replace('-', "");
    wait_for(
        "the other entry sent and settled",
        Duration::from_secs(8),
        || async {
            e.count("SELECT count(*) FROM outbox WHERE calendar_id = 'CALENDAR_ID_ENSEIGNANT'")
                .await
                == 0
        },
    )
    .await;
    let at_google = e.google.list_all("CALENDAR_ID_ENSEIGNANT").await;
    assert!(at_google.iter().any(|x| x["id"] == google_id.as_str()));
    assert_eq!(
        e.count("SELECT count(*) FROM outbox WHERE calendar_id = 'primary'")
            .await,
        1,
        "the slow entry is still in flight"
    );
    stop.cancel();
    writer.abort();
}
