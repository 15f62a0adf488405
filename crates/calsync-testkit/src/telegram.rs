//! A local fake of Telegram's Bot API: records every request and answers from a script.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

/// One request as Telegram would have received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub body: Value,
    pub at: Instant,
}

#[derive(Clone, Copy)]
pub struct Reply {
    pub status: u16,
    pub delay: Duration,
    body: fn() -> Value,
}

impl Reply {
    pub fn ok() -> Self {
        Self::with(200, || json!({"ok": true, "result": {"message_id": 1}}))
    }
    pub fn with(status: u16, body: fn() -> Value) -> Self {
        Self {
            status,
            delay: Duration::ZERO,
            body,
        }
    }
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    script: VecDeque<Reply>,
    fallback: Option<Reply>,
}

/// The fake server: its base URL, and what it was sent.
pub struct FakeTelegram {
    pub base_url: String,
    state: Arc<Mutex<State>>,
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let reply = {
        let mut s = state.lock().expect("fake state");
        s.requests.push(Recorded {
            path: req.path().to_string(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            at: Instant::now(),
        });
        let fallback = s.fallback.unwrap_or_else(Reply::ok);
        s.script.pop_front().unwrap_or(fallback)
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let status = actix_web::http::StatusCode::from_u16(reply.status).expect("status");
    HttpResponse::build(status).json((reply.body)())
}

impl FakeTelegram {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(handle))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    /// The next requests get these replies, in order; then `fallback` (200 ok by default).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state
            .lock()
            .expect("fake state")
            .script
            .extend(replies);
    }

    pub fn fallback(&self, reply: Reply) {
        self.state.lock().expect("fake state").fallback = Some(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().expect("fake state").requests.clone()
    }

    /// Waits until at least `n` requests arrived (panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Recorded> {
        crate::wait::wait_ok(
            &format!("{n} requests"),
            within,
            Duration::from_millis(10),
            || async {
                let got = self.requests();
                if got.len() >= n {
                    Ok(got)
                } else {
                    Err(format!("expected {n} requests, got {}", got.len()))
                }
            },
        )
        .await
    }
}

/// A base URL where nothing listens.
pub fn unreachable_base_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}
