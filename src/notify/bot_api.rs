//! One Telegram Bot API call (`sendMessage`) and its retry policy: 429 `retry_after`, 5xx and transport errors.

use std::time::Duration;

use rand::Rng as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Connect timeout of the Bot API client.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Total timeout of one Bot API request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How hard one message is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all against 5xx, timeouts and connection errors.
    pub max_attempts: u32,
    /// First backoff delay (doubled each time, jittered by up to -50 %).
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Retries after 429 Too Many Requests, each after Telegram's `retry_after`.
    pub max_rate_limited: u32,
    /// A `retry_after` longer than this drops the message instead of stalling the queue.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_rate_limited: 5,
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, failures: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        capped.mul_f64(rand::rng().random_range(0.5..=1.0))
    }
}

/// Which topic, and which log label, a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    EventAdded,
    EventModified,
    Alert,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventAdded => "event_added",
            Self::EventModified => "event_modified",
            Self::Alert => "system_alert",
        }
    }
}

/// A rendered message waiting in the queue.
#[derive(Clone)]
pub struct Outgoing {
    pub kind: MessageKind,
    pub thread: Option<i64>,
    pub text: String,
}

/// Result of one HTTP attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    Sent,
    RateLimited(Duration),
    /// 5xx (status) or a transport error (no status).
    Transient(Option<u16>, &'static str),
    /// Any other refusal: not retried.
    Rejected(u16, Option<i64>),
}

/// Final result of delivering one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent { attempts: u32 },
    Failed { attempts: u32, status: Option<u16> },
}

/// The `sendMessage` endpoint of one bot and chat. Its URL holds the bot token: never log it.
#[derive(Clone)]
pub struct BotApi {
    client: reqwest::Client,
    send_url: String,
    chat_id: Value,
}

impl BotApi {
    pub fn new(base_url: &str, token: &str, chat_id: &str) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        let chat_id = match chat_id.trim().parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::from(chat_id.trim()),
        };
        Ok(Self {
            client,
            send_url: format!("{}/bot{token}/sendMessage", base_url.trim_end_matches('/')),
            chat_id,
        })
    }

    /// Sends `message`, retrying per `policy`. Cancel by dropping the future.
    pub async fn deliver(&self, message: &Outgoing, policy: &RetryPolicy) -> Delivery {
        let (mut attempts, mut transient, mut rate_limited) = (0u32, 0u32, 0u32);
        loop {
            attempts += 1;
            let kind = message.kind.as_str();
            match self.attempt(message).await {
                Attempt::Sent => return Delivery::Sent { attempts },
                Attempt::RateLimited(wait) => {
                    rate_limited += 1;
                    if rate_limited > policy.max_rate_limited || wait > policy.max_retry_after {
                        tracing::warn!(
                            kind,
                            attempts,
                            retry_after_secs = wait.as_secs(),
                            "telegram rate limit: message dropped"
                        );
                        return Delivery::Failed {
                            attempts,
                            status: Some(429),
                        };
                    }
                    tracing::info!(
                        kind,
                        attempts,
                        retry_after_secs = wait.as_secs(),
                        "telegram rate limit: waiting before retry"
                    );
                    tokio::time::sleep(wait).await;
                }
                Attempt::Transient(status, reason) => {
                    transient += 1;
                    if transient >= policy.max_attempts {
                        tracing::warn!(
                            kind,
                            attempts,
                            status,
                            reason,
                            "telegram unavailable: message dropped"
                        );
                        return Delivery::Failed { attempts, status };
                    }
                    let wait = policy.backoff(transient);
                    tracing::info!(
                        kind,
                        attempts,
                        status,
                        reason,
                        backoff_ms = wait.as_millis() as u64,
                        "telegram unavailable: retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                Attempt::Rejected(status, error_code) => {
                    tracing::warn!(
                        kind,
                        attempts,
                        status,
                        error_code,
                        "telegram refused the message: dropped"
                    );
                    return Delivery::Failed {
                        attempts,
                        status: Some(status),
                    };
                }
            }
        }
    }

    async fn attempt(&self, message: &Outgoing) -> Attempt {
        let mut body = json!({
            "chat_id": self.chat_id,
            "text": message.text,
            "parse_mode": "HTML",
            "disable_web_page_preview": true,
        });
        if let (Some(thread), Some(obj)) = (message.thread, body.as_object_mut()) {
            obj.insert("message_thread_id".into(), Value::from(thread));
        }
        let response = match self.client.post(&self.send_url).json(&body).send().await {
            Ok(r) => r,
            // reqwest errors print the URL, which holds the token: log a category only.
            Err(e) => return Attempt::Transient(None, transport_reason(&e)),
        };
        let status = response.status();
        let header_retry = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body: Option<Value> = match response.bytes().await {
            Ok(bytes) => serde_json::from_slice(&bytes).ok(),
            Err(e) if status.is_success() => return Attempt::Transient(None, transport_reason(&e)),
            Err(_) => None,
        };
        classify(status, header_retry, body.as_ref())
    }
}

fn transport_reason(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "transport"
    }
}

fn classify(status: StatusCode, header_retry: Option<u64>, body: Option<&Value>) -> Attempt {
    let ok = body.and_then(|b| b.get("ok")).and_then(Value::as_bool);
    let error_code = body
        .and_then(|b| b.get("error_code"))
        .and_then(Value::as_i64);
    if status.is_success() && ok != Some(false) {
        return Attempt::Sent;
    }
    if status == StatusCode::TOO_MANY_REQUESTS || error_code == Some(429) {
        let secs = body
            .and_then(|b| b.pointer("/parameters/retry_after"))
            .and_then(Value::as_u64)
            .or(header_retry)
            .unwrap_or(1);
        return Attempt::RateLimited(Duration::from_secs(secs));
    }
    if status.is_server_error() {
        return Attempt::Transient(Some(status.as_u16()), "server_error");
    }
    Attempt::Rejected(status.as_u16(), error_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let c = |s: u16, h: Option<u64>, b: Value| {
            classify(StatusCode::from_u16(s).expect("status"), h, Some(&b))
        };
        assert_eq!(
            c(200, None, json!({"ok": true, "result": {}})),
            Attempt::Sent
        );
        assert_eq!(
            c(
                429,
                None,
                json!({"ok": false, "error_code": 429, "parameters": {"retry_after": 7}})
            ),
            Attempt::RateLimited(Duration::from_secs(7))
        );
        assert_eq!(
            c(429, Some(3), json!(null)),
            Attempt::RateLimited(Duration::from_secs(3))
        );
        assert_eq!(
            c(502, None, json!("Bad Gateway")),
            Attempt::Transient(Some(502), "server_error")
        );
        assert_eq!(
            c(
                400,
                None,
                json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"})
            ),
            Attempt::Rejected(400, Some(400))
        );
        assert_eq!(
            c(200, None, json!({"ok": false, "error_code": 403})),
            Attempt::Rejected(200, Some(403))
        );
        assert_eq!(classify(StatusCode::OK, None, None), Attempt::Sent);
    }

    #[test]
    fn backoff_doubles_within_bounds() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            ..RetryPolicy::default()
        };
        for (n, max) in [(1, 100), (2, 200), (3, 300), (40, 300)] {
            let d = p.backoff(n);
            assert!(
                d >= Duration::from_millis(max / 2) && d <= Duration::from_millis(max),
                "{n}: {d:?}"
            );
        }
    }

    #[test]
    fn chat_id_is_numeric_when_it_can_be() {
        let api = BotApi::new("http://x/", "t", "-100123").expect("client");
        assert_eq!(api.chat_id, json!(-100123));
        assert_eq!(api.send_url, "http://x/bott/sendMessage");
        let api = BotApi::new("http://x", "t", "@channel").expect("client");
        assert_eq!(api.chat_id, json!("@channel"));
    }
}
