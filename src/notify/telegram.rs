//! `TelegramNotifier`: renders notifications, queues them (never blocking sync) and sends them from one background task.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::bot_api::{BotApi, Delivery, MessageKind, Outgoing, RetryPolicy};
use super::dedup::{AlertDedup, AlertKey, DEFAULT_ALERT_WINDOW};
use super::event::EventSummary;
use super::format::Locale;
use super::message;
use crate::config::TelegramSettings;
use crate::sync::alerts::{Alert, AlertFuture, AlertSink, LogAlerts};

/// Tuning knobs; `Default` is what production uses.
#[derive(Debug, Clone)]
pub struct NotifierOptions {
    /// Messages waiting to be sent; more are dropped (and counted).
    pub queue_capacity: usize,
    /// The same alert (kind + calendar) is not sent again within this window.
    pub alert_dedup_window: Duration,
    pub retry: RetryPolicy,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        Self {
            queue_capacity: 256,
            alert_dedup_window: DEFAULT_ALERT_WINDOW,
            retry: RetryPolicy::default(),
        }
    }
}

/// What became of a notification request (returned at once; delivery happens later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Queued,
    /// Nothing the message shows changed (modification of other fields).
    Unchanged,
    /// The same alert was sent within the de-duplication window.
    Duplicate,
    /// The queue was full: dropped and counted.
    QueueFull,
    /// The background task has stopped (shutdown).
    Closed,
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotifyStats {
    pub queued: u64,
    pub sent: u64,
    /// Given up after retries or refused by Telegram.
    pub failed: u64,
    /// Dropped because the queue was full or the task had stopped.
    pub dropped: u64,
    pub deduplicated: u64,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    deduplicated: AtomicU64,
    /// `calsync_notifications_total{kind,verdict}`, once the server attaches its registry.
    metrics: std::sync::OnceLock<Arc<crate::metrics::Metrics>>,
}

impl Counters {
    fn verdict(&self, kind: MessageKind, verdict: &'static str) {
        if let Some(m) = self.metrics.get() {
            let kind = match kind {
                MessageKind::EventAdded => "event_added",
                MessageKind::EventModified => "event_modified",
                MessageKind::Alert => "alert",
            };
            m.counter(
                "calsync_notifications_total",
                "Telegram notifications by kind and verdict.",
                vec![("kind", kind.into()), ("verdict", verdict.into())],
            )
            .inc();
        }
    }
}

fn bump(counter: &AtomicU64) -> u64 {
    counter.fetch_add(1, Ordering::Relaxed) + 1
}

/// Sends the seed's Telegram notifications. Cheap to clone; all clones share one queue.
#[derive(Clone)]
pub struct TelegramNotifier {
    inner: Arc<Inner>,
}

struct Inner {
    api: BotApi,
    locale: Locale,
    topic_actions: Option<i64>,
    topic_email: Option<i64>,
    topic_system: Option<i64>,
    retry: RetryPolicy,
    tx: mpsc::Sender<Outgoing>,
    rx: Mutex<Option<mpsc::Receiver<Outgoing>>>,
    dedup: Mutex<AlertDedup>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for TelegramNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramNotifier")
            .field("locale", &self.inner.locale)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

fn set(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

impl TelegramNotifier {
    /// `None` (notifications disabled) when the bot token or the chat id is unset or empty.
    pub fn from_settings(settings: &TelegramSettings) -> Option<Self> {
        Self::with_options(settings, NotifierOptions::default())
    }

    /// As `from_settings`, with explicit queue, de-duplication and retry settings.
    pub fn with_options(settings: &TelegramSettings, options: NotifierOptions) -> Option<Self> {
        let token = set(settings.bot_token.as_ref().map(|s| s.expose()))?;
        let chat_id = set(settings.chat_id.as_deref())?;
        let api = match BotApi::new(&settings.api_base_url, token, chat_id) {
            Ok(api) => api,
            Err(_) => {
                tracing::error!(
                    "telegram notifications disabled: the HTTP client could not be built"
                );
                return None;
            }
        };
        let (tx, rx) = mpsc::channel(options.queue_capacity.max(1));
        Some(Self {
            inner: Arc::new(Inner {
                api,
                locale: Locale::from_setting(&settings.locale),
                topic_actions: settings.topic_actions,
                topic_email: settings.topic_email,
                topic_system: settings.topic_system,
                retry: options.retry,
                tx,
                rx: Mutex::new(Some(rx)),
                dedup: Mutex::new(AlertDedup::new(options.alert_dedup_window)),
                counters: Arc::default(),
            }),
        })
    }

    /// Counts every verdict in the server's metrics registry from now on.
    pub fn attach_metrics(&self, metrics: Arc<crate::metrics::Metrics>) {
        let _ = self.inner.counters.metrics.set(metrics);
    }

    pub fn locale(&self) -> Locale {
        self.inner.locale
    }

    pub fn stats(&self) -> NotifyStats {
        let c = &self.inner.counters;
        NotifyStats {
            queued: c.queued.load(Ordering::Relaxed),
            sent: c.sent.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            deduplicated: c.deduplicated.load(Ordering::Relaxed),
        }
    }

    /// "✅ Événement ajouté à Google Calendar" to the Actions topic (after calsync created an event at Google).
    pub fn notify_event_added(&self, event: &EventSummary) -> Enqueued {
        let text = message::event_added(event, self.inner.locale);
        self.enqueue(MessageKind::EventAdded, self.inner.topic_actions, text)
    }

    /// "🔄 Événement modifié dans Google Calendar" to the Email topic, listing what changed;
    /// `Unchanged` (nothing sent) when the title, time and location are the same.
    pub fn notify_event_modified(&self, before: &EventSummary, after: &EventSummary) -> Enqueued {
        match message::event_modified(before, after, self.inner.locale) {
            Some(text) => self.enqueue(MessageKind::EventModified, self.inner.topic_email, text),
            None => Enqueued::Unchanged,
        }
    }

    /// A system alert to the System topic, unless the same one went out within the window.
    pub fn notify_alert(&self, alert: &Alert) -> Enqueued {
        let key = AlertKey::of(alert);
        let now = Instant::now();
        let mut dedup = self
            .inner
            .dedup
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !dedup.is_new(&key, now) {
            bump(&self.inner.counters.deduplicated);
            self.inner
                .counters
                .verdict(MessageKind::Alert, "deduplicated");
            tracing::debug!(
                alert = key.kind,
                calendar = key.calendar_id.as_deref(),
                "telegram alert already sent recently: skipped"
            );
            return Enqueued::Duplicate;
        }
        let text = message::system_alert(alert, self.inner.locale);
        let outcome = self.enqueue(MessageKind::Alert, self.inner.topic_system, text);
        if outcome == Enqueued::Queued {
            dedup.record(key, now);
        }
        outcome
    }

    fn enqueue(&self, kind: MessageKind, thread: Option<i64>, text: String) -> Enqueued {
        // The messages above fit already; this keeps any other text within Telegram's limit.
        let text = super::truncate::fit_html(&text, super::truncate::TELEGRAM_LIMIT);
        let counters = &self.inner.counters;
        match self.inner.tx.try_send(Outgoing { kind, thread, text }) {
            Ok(()) => {
                bump(&counters.queued);
                Enqueued::Queued
            }
            Err(TrySendError::Full(_)) => {
                let dropped = bump(&counters.dropped);
                counters.verdict(kind, "failed");
                if dropped == 1 || dropped.is_multiple_of(100) {
                    tracing::warn!(
                        kind = kind.as_str(),
                        dropped_total = dropped,
                        "telegram queue full: message dropped"
                    );
                }
                Enqueued::QueueFull
            }
            Err(TrySendError::Closed(_)) => {
                bump(&counters.dropped);
                counters.verdict(kind, "failed");
                tracing::debug!(
                    kind = kind.as_str(),
                    "telegram sender stopped: message dropped"
                );
                Enqueued::Closed
            }
        }
    }

    /// Spawns the task that sends queued messages one at a time until `shutdown` is cancelled
    /// (an in-flight send or retry wait is abandoned) or every notifier clone is dropped.
    /// Only the first call starts a sender; later calls return an already finished task.
    /// Call it inside a Tokio runtime.
    pub fn start(&self, shutdown: CancellationToken) -> JoinHandle<()> {
        let rx = self
            .inner
            .rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(rx) = rx else {
            tracing::warn!("telegram sender already started");
            return tokio::spawn(async {});
        };
        let worker = Worker {
            api: self.inner.api.clone(),
            retry: self.inner.retry,
            counters: self.inner.counters.clone(),
        };
        tokio::spawn(worker.run(rx, shutdown))
    }
}

struct Worker {
    api: BotApi,
    retry: RetryPolicy,
    counters: Arc<Counters>,
}

impl Worker {
    async fn run(self, mut rx: mpsc::Receiver<Outgoing>, shutdown: CancellationToken) {
        tracing::info!("telegram sender started");
        loop {
            let next = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                next = rx.recv() => next,
            };
            let Some(message) = next else { break };
            let delivery = tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    bump(&self.counters.dropped);
                    break;
                }
                d = self.api.deliver(&message, &self.retry) => d,
            };
            match delivery {
                Delivery::Sent { attempts } => {
                    bump(&self.counters.sent);
                    self.counters.verdict(message.kind, "sent");
                    tracing::debug!(
                        kind = message.kind.as_str(),
                        attempts,
                        "telegram message sent"
                    );
                }
                Delivery::Failed { .. } => {
                    bump(&self.counters.failed);
                    self.counters.verdict(message.kind, "failed");
                }
            }
        }
        rx.close();
        let mut unsent = 0u64;
        while rx.try_recv().is_ok() {
            unsent += 1;
        }
        self.counters.dropped.fetch_add(unsent, Ordering::Relaxed);
        tracing::info!(unsent, "telegram sender stopped");
    }
}

impl AlertSink for TelegramNotifier {
    /// Logs the alert (as `LogAlerts` does) and queues it for Telegram; returns without waiting for Telegram.
    fn alert<'a>(&'a self, alert: &'a Alert) -> AlertFuture<'a> {
        Box::pin(async move {
            LogAlerts.alert(alert).await;
            self.notify_alert(alert);
        })
    }
}
