//! Push delivery: `sync` on watch, `exists` after every change, to each live channel of the calendar, with
//! every X-Goog-* header, an empty body, and Google's retry on 500/502/503/504. Runs off the request path.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use tokio::sync::mpsc;

use super::faults::Faults;
use super::state::{ChannelState, State};

/// One message for one channel.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub channel: ChannelState,
    pub state: &'static str,
    pub number: i64,
}

/// Queues deliveries; one task sends them in order.
#[derive(Clone)]
pub struct Pusher {
    tx: mpsc::UnboundedSender<Delivery>,
}

const ATTEMPTS: u32 = 5;

impl Pusher {
    /// Starts the delivery task (it ends when every `Pusher` clone is dropped).
    pub fn start(state: Arc<Mutex<State>>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Delivery>();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .unwrap_or_default();
        tokio::spawn(async move {
            let mut held: Option<Delivery> = None;
            while let Some(d) = rx.recv().await {
                let (drop, dup, reorder) = {
                    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                    let st = &mut *s;
                    let mut fate = draw(&st.faults, &mut st.rng, true);
                    // The channel's user may have push faults of its own (both apply).
                    if let Some(u) = st.users.get_mut(&d.channel.user) {
                        let own = draw(&u.faults, &mut u.rng, false);
                        fate = (fate.0 || own.0, fate.1 || own.1, fate.2 || own.2);
                    }
                    fate
                };
                if drop {
                    continue;
                }
                if reorder && held.is_none() {
                    held = Some(d);
                    continue;
                }
                deliver(&http, &state, &d).await;
                if dup {
                    deliver(&http, &state, &d).await;
                }
                if let Some(h) = held.take() {
                    deliver(&http, &state, &h).await;
                }
            }
        });
        Self { tx }
    }

    /// Queues an `exists` to every live channel of `user`'s `calendar`.
    pub fn changed(&self, state: &mut State, user: &str, calendar: &str) {
        let now_ms = Utc::now().timestamp_millis();
        let watching = state
            .cal(user, calendar)
            .map(|c| c.channels.clone())
            .unwrap_or_default();
        let ids: Vec<String> = watching
            .into_iter()
            .filter(|id| {
                state
                    .channels
                    .get(id)
                    .is_some_and(|c| c.expiration > now_ms)
            })
            .collect();
        for id in ids {
            self.send(state, &id, "exists");
        }
    }

    /// Queues an `exists` to every live `calendarList.watch` channel of `user` (a calendar added or
    /// removed).
    pub fn list_changed(&self, state: &mut State, user: &str) {
        let now_ms = Utc::now().timestamp_millis();
        let listening = state
            .user(user)
            .map(|u| u.list_channels.clone())
            .unwrap_or_default();
        let ids: Vec<String> = listening
            .iter()
            .filter(|id| {
                state
                    .channels
                    .get(*id)
                    .is_some_and(|c| c.expiration > now_ms)
            })
            .cloned()
            .collect();
        for id in ids {
            self.send(state, &id, "exists");
        }
    }

    /// Queues one message (`sync` or `exists`) for one channel, numbering it.
    pub fn send(&self, state: &mut State, channel_id: &str, resource_state: &'static str) {
        if let Some(c) = state.channels.get_mut(channel_id) {
            c.message_number += if resource_state == "sync" {
                1
            } else {
                1 + (c.message_number % 3)
            };
            let d = Delivery {
                channel: c.clone(),
                state: resource_state,
                number: c.message_number,
            };
            let _ = self.tx.send(d);
        }
    }
}

/// Whether a message is dropped, duplicated, held back for reordering, under `f`. Unless `always`, draws
/// nothing when `f` has no push fault (a user without push faults costs its generator nothing).
fn draw(f: &Faults, rng: &mut StdRng, always: bool) -> (bool, bool, bool) {
    let quiet = f.push_drop_rate <= 0.0 && f.push_duplicate_rate <= 0.0 && !f.push_reorder;
    if quiet && !always {
        return (false, false, false);
    }
    let r1: f64 = rng.random();
    let r2: f64 = rng.random();
    (
        r1 < f.push_drop_rate,
        r2 < f.push_duplicate_rate,
        f.push_reorder,
    )
}

async fn deliver(http: &reqwest::Client, state: &Arc<Mutex<State>>, d: &Delivery) {
    let c = &d.channel;
    let live = {
        let s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.channels
            .get(&c.id)
            .is_some_and(|c| c.expiration > Utc::now().timestamp_millis())
    };
    if !live || c.silent {
        return;
    }
    let expires = Utc
        .timestamp_millis_opt(c.expiration)
        .single()
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default();
    let uri = &c.resource_uri;
    for attempt in 0..ATTEMPTS {
        let mut req = http
            .post(&c.address)
            .header("X-Goog-Channel-ID", &c.id)
            .header("X-Goog-Channel-Expiration", &expires)
            .header("X-Goog-Message-Number", d.number.to_string())
            .header("X-Goog-Resource-ID", &c.resource_id)
            .header("X-Goog-Resource-State", d.state)
            .header("X-Goog-Resource-URI", uri)
            .header("Content-Type", "application/json; utf-8")
            .header("Content-Length", "0");
        if let Some(t) = &c.token {
            req = req.header("X-Goog-Channel-Token", t);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() || r.status().as_u16() == 102 => return,
            Ok(r) if matches!(r.status().as_u16(), 500 | 502 | 503 | 504) => {}
            Ok(_) => return, // any other status is a failed message, not retried
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempt))).await;
    }
}
