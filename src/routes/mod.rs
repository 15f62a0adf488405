//! HTTP routes and the state they share.

mod accounts_admin;
mod admin;
pub mod auth;
mod body;
mod conflicts;
mod connect;
pub mod events;
mod health;
mod html_page;
mod input;
mod metrics;
mod status_forms;
mod status_page;
mod sync_api;
mod webhook;

use std::sync::Arc;

use actix_web::web;
use sqlx::PgPool;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::push::registry::ChannelManager;
use crate::redis_health::RedisHealth;
use crate::sync::Syncer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub redis: Option<RedisHealth>,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    /// Channel lifecycle; None when push is not configured.
    pub channels: Option<ChannelManager>,
    /// Runs syncs on demand; None when Google sync is off.
    pub syncer: Option<Syncer>,
    /// Telegram notifications; None when not configured.
    pub notifier: Option<crate::notify::TelegramNotifier>,
    /// Active channels in memory (shared with `inbox`): a channel stopped here is forgotten at once.
    pub channel_cache: Arc<crate::push::cache::ChannelCache>,
    /// Decides each push (`POST /webhooks/google`).
    pub inbox: crate::push::inbox::PushInbox,
    /// Admin sign-ins: token policy, failures limited per client address.
    pub signins: Arc<crate::signin::SignInGuard>,
}

impl AppState {
    /// Accounts and calendars at run time, for the admin routes and the connect flow.
    pub(crate) fn manager(&self) -> crate::accounts::manage::Manager<'_> {
        crate::accounts::manage::Manager {
            pool: &self.pool,
            settings: &self.settings,
            google: self.syncer.as_ref().map(|s| s.google.as_ref()),
            channels: self.channels.as_ref(),
        }
    }

    /// The OAuth client the connect flow and `POST /admin/accounts` exchange codes with.
    pub(crate) fn oauth_client(
        &self,
    ) -> Result<crate::google::installed_flow::OAuthClient, String> {
        let g = &self.settings.google;
        let path = g.client_secret_path.as_deref().ok_or(
            "GOOGLE_CLIENT_SECRET_PATH is not set: the connect flow needs the OAuth client",
        )?;
        crate::google::installed_flow::OAuthClient::from_file(path, g.token_url.as_deref())
            .map_err(|e| format!("{e:#}"))
    }
}

pub use body::{is_timeout as is_body_timeout, with_deadline};

/// Mounts every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(status_page::page))
        .route("/login", web::post().to(status_forms::login))
        .route("/logout", web::post().to(status_forms::logout))
        .route(
            "/status/conflicts/{id}/resolve",
            web::post().to(status_forms::resolve),
        )
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics::metrics))
        .route("/webhooks/google", web::post().to(webhook::receive))
        .route("/connect/google", web::get().to(connect::start))
        .route("/connect/google/callback", web::get().to(connect::callback))
        .route("/api/v1/calendar/sync", web::post().to(sync_api::sync_now))
        .service(
            web::scope("/api/v1")
                .route("/events", web::get().to(events::list))
                .route("/events", web::post().to(events::create))
                .route("/events/today", web::get().to(events::today))
                .route("/events/{id}", web::get().to(events::get))
                .route("/events/{id}", web::patch().to(events::patch))
                .route("/events/{id}", web::delete().to(events::delete))
                .route("/conflicts", web::get().to(conflicts::list))
                .route(
                    "/conflicts/{id}/resolve",
                    web::post().to(conflicts::resolve),
                ),
        )
        .service(
            web::scope("/admin")
                .route("/channels", web::get().to(admin::list))
                .route("/channels/renew", web::post().to(admin::renew))
                .route("/channels/{id}/stop", web::post().to(admin::stop))
                .route("/accounts", web::get().to(accounts_admin::list_accounts))
                .route("/accounts", web::post().to(accounts_admin::connect_account))
                .route(
                    "/accounts/{name}",
                    web::delete().to(accounts_admin::remove_account),
                )
                .route("/calendars", web::get().to(accounts_admin::list_calendars))
                .route("/calendars", web::post().to(accounts_admin::add_calendar))
                .route(
                    "/calendars/{id}",
                    web::delete().to(accounts_admin::remove_calendar),
                ),
        );
}
