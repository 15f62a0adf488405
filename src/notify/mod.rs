//! Telegram notifications: event added (Actions topic), event modified (Email topic) and system alerts (System topic).
//!
//! Messages are rendered in French (the seed's texts) or English, in Telegram's HTML parse mode,
//! queued without blocking sync, and sent by one background task (`TelegramNotifier::start`).
//! Logs carry kinds, counts and status codes only: never the token, texts, titles or locations.

mod bot_api;
mod dedup;
mod event;
mod format;
mod message;
mod telegram;
pub mod truncate;

pub use bot_api::{CONNECT_TIMEOUT, REQUEST_TIMEOUT, RetryPolicy};
pub use dedup::DEFAULT_ALERT_WINDOW;
pub use event::EventSummary;
pub use format::{Locale, casquette_label, escape_html, format_date, format_time, format_when};
pub use message::{alert_text_en, event_added, event_modified, system_alert};
pub use telegram::{Enqueued, NotifierOptions, NotifyStats, TelegramNotifier};
