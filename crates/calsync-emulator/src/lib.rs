//! A faithful Google Calendar v3 emulator: the offline sandbox, the demo's "Google" and the tests' peer.
//! Same paths and shapes as Google (`/calendar/v3/...`, `/token`), plus a control API under `/emulator/...`.
// Handlers' helpers return a finished Google error response as their `Err`: large, but only on the
// error path of a test peer, and it keeps every error body in one place (errors.rs).
#![allow(clippy::result_large_err)]

mod api;
mod calendars;
mod channels;
mod control;
mod credentials;
mod errors;
mod events;
mod faults;
mod fields;
mod instances;
mod list;
mod moves;
mod oauth;
mod push;
mod recurrence;
mod state;
mod token;
mod validate;

use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{Server, ServerHandle, ServiceResponse};
use actix_web::{App, HttpServer, web};
use chrono::Utc;
use tokio_util::sync::CancellationToken;

pub use channels::MAX_TTL_SECS as MAX_CHANNEL_TTL_SECS;
pub use faults::Faults;

/// The development credentials the emulator accepts.
pub mod dev_credentials {
    pub use super::credentials::{CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, write};
    pub use super::oauth::USER_EMAIL;
}

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Listen address; port 0 picks a free one.
    pub bind: String,
    /// Seed of every random draw (faults, ids).
    pub seed: u64,
    /// Lifetime of issued access tokens.
    pub access_token_ttl: Duration,
    /// Base URL clients see, when not `http://<bind>`.
    pub public_base_url: Option<String>,
    /// Time zone of the `primary` calendar every fresh account has.
    pub primary_time_zone: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:0".into(),
            seed: 1,
            access_token_ttl: Duration::from_secs(3600),
            public_base_url: None,
            primary_time_zone: "UTC".into(),
        }
    }
}

/// State shared by the handlers.
pub struct Shared {
    state: Arc<Mutex<state::State>>,
    pusher: push::Pusher,
    base_url: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running emulator.
pub struct Emulator {
    base_url: String,
    port: u16,
    handle: ServerHandle,
}

/// The API method a request calls, Google's naming (`events.list`), for counts and the log.
fn method_name(method: &str, path: &str) -> String {
    let rest = path.trim_start_matches("/calendar/v3");
    let parts: Vec<&str> = rest.trim_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["calendars", _, "events"]) => "events.list",
        ("POST", ["calendars", _, "events"]) => "events.insert",
        ("POST", ["calendars", _, "events", "watch"]) => "events.watch",
        ("GET", ["calendars", _, "events", _]) => "events.get",
        ("PATCH", ["calendars", _, "events", _]) => "events.patch",
        ("PUT", ["calendars", _, "events", _]) => "events.update",
        ("DELETE", ["calendars", _, "events", _]) => "events.delete",
        ("POST", ["channels", "stop"]) => "channels.stop",
        ("GET", ["users", "me", "calendarList"]) => "calendarList.list",
        ("POST", ["users", "me", "calendarList", "watch"]) => "calendarList.watch",
        ("GET", ["users", "me", "calendarList", _]) => "calendarList.get",
        ("GET", ["calendars", _, "events", _, "instances"]) => "events.instances",
        ("POST", ["calendars", _, "events", _, "move"]) => "events.move",
        ("GET", ["calendars", _]) => "calendars.get",
        ("GET", ["colors"]) => "colors.get",
        _ => "unknown",
    }
    .to_string()
}

fn build(shared: web::Data<Shared>, listener: TcpListener) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || {
        let gate_state = shared.clone();
        App::new()
            .app_data(shared.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(1 << 20)
                    .error_handler(|e, _| {
                        actix_web::error::InternalError::from_response(
                            e,
                            errors::bad_request("Invalid JSON payload."),
                        )
                        .into()
                    }),
            )
            .route("/token", web::post().to(api::token_endpoint))
            .route("/o/oauth2/auth", web::get().to(oauth::authorize))
            .route("/tokeninfo", web::get().to(oauth::tokeninfo))
            .service(
                web::scope("/calendar/v3")
                    .wrap_fn(move |req, srv| {
                        use actix_web::dev::Service;
                        let shared = gate_state.clone();
                        let name = method_name(req.method().as_str(), req.path());
                        let (http_method, path, query) = (
                            req.method().to_string(),
                            req.path().to_string(),
                            req.query_string().to_string(),
                        );
                        let auth = req
                            .headers()
                            .get("Authorization")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        let (latency, injected, authorized, retry_after, response_delay) = {
                            let mut s = shared.lock();
                            *s.counts.entry(name.clone()).or_default() += 1;
                            let mut faults = s.faults.clone();
                            let st = &mut *s;
                            let injected = faults.draw(&mut st.rng);
                            st.faults.window = faults.window.clone();
                            let slow = faults.slows(&path);
                            (
                                if slow {
                                    faults.latency()
                                } else {
                                    Duration::ZERO
                                },
                                injected,
                                token::authorized(st, auth.as_deref()),
                                faults.retry_after_secs,
                                Duration::from_millis(if slow {
                                    faults.response_delay_ms
                                } else {
                                    0
                                }),
                            )
                        };
                        let call = if injected.is_none() && authorized {
                            Ok(srv.call(req))
                        } else {
                            Err(req)
                        };
                        async move {
                            if !latency.is_zero() {
                                tokio::time::sleep(latency).await;
                            }
                            let res: ServiceResponse<BoxBody> = match (call, injected) {
                                (Ok(f), _) => f.await?.map_into_boxed_body(),
                                (Err(req), Some(kind)) => {
                                    let mut resp = match kind {
                                        faults::Injected::RateLimit403 => errors::rate_limited(403),
                                        faults::Injected::Status(429) => errors::rate_limited(429),
                                        faults::Injected::Status(code) => errors::google_error(
                                            code,
                                            "global",
                                            "backendError",
                                            "Backend Error",
                                        ),
                                    };
                                    if let Some(secs) = retry_after {
                                        resp.headers_mut().insert(
                                            actix_web::http::header::RETRY_AFTER,
                                            actix_web::http::header::HeaderValue::from(secs),
                                        );
                                    }
                                    req.into_response(resp)
                                }
                                (Err(req), None) => req.into_response(errors::unauthorized()),
                            };
                            if !response_delay.is_zero() {
                                tokio::time::sleep(response_delay).await;
                            }
                            let status = res.status().as_u16();
                            shared.lock().log.push(state::LoggedRequest {
                                method: name,
                                http_method,
                                path,
                                query,
                                status,
                                at_ms: Utc::now().timestamp_millis(),
                            });
                            Ok(res)
                        }
                    })
                    .route("/calendars/{cal}/events", web::get().to(api::list_events))
                    .route("/calendars/{cal}/events", web::post().to(api::insert_event))
                    .route("/calendars/{cal}/events/watch", web::post().to(api::watch))
                    .route(
                        "/calendars/{cal}/events/{id}",
                        web::get().to(api::get_event),
                    )
                    .route(
                        "/calendars/{cal}/events/{id}",
                        web::patch().to(api::patch_event),
                    )
                    .route(
                        "/calendars/{cal}/events/{id}",
                        web::put().to(api::update_event),
                    )
                    .route(
                        "/calendars/{cal}/events/{id}",
                        web::delete().to(api::delete_event),
                    )
                    .route("/channels/stop", web::post().to(api::stop))
                    .route(
                        "/calendars/{cal}/events/{id}/instances",
                        web::get().to(instances::handler),
                    )
                    .route(
                        "/calendars/{cal}/events/{id}/move",
                        web::post().to(moves::handler),
                    )
                    .route("/calendars/{cal}", web::get().to(calendars::get))
                    .route("/colors", web::get().to(calendars::colors))
                    .route("/users/me/calendarList", web::get().to(calendars::list))
                    .route(
                        "/users/me/calendarList/watch",
                        web::post().to(calendars::watch),
                    )
                    .route(
                        "/users/me/calendarList/{cal}",
                        web::get().to(calendars::get_entry),
                    ),
            )
            .service(
                web::scope("/emulator")
                    .route("/reset", web::post().to(control::reset))
                    .route("/calendars", web::post().to(control::add_calendar))
                    .route(
                        "/calendars/{cal}",
                        web::delete().to(control::remove_calendar),
                    )
                    .route(
                        "/calendars/{cal}/events",
                        web::post().to(control::user_insert),
                    )
                    .route(
                        "/calendars/{cal}/events/{id}",
                        web::patch().to(control::user_patch),
                    )
                    .route("/calendars/{cal}/events/{id}", web::get().to(control::peek))
                    .route(
                        "/calendars/{cal}/events/{id}",
                        web::delete().to(control::user_delete),
                    )
                    .route("/calendars/{cal}/bulk", web::post().to(control::bulk))
                    .route("/requests", web::get().to(control::requests))
                    .route("/stats", web::get().to(control::stats))
                    .route("/faults", web::post().to(control::set_faults))
                    .route(
                        "/sync-tokens/invalidate",
                        web::post().to(control::invalidate_sync_tokens),
                    )
                    .route("/channels", web::get().to(control::channels))
                    .route(
                        "/channels/{id}/expire",
                        web::post().to(control::expire_channel),
                    )
                    .route(
                        "/tokens/expire",
                        web::post().to(control::expire_access_tokens),
                    )
                    .route(
                        "/refresh-tokens/revoke",
                        web::post().to(control::revoke_refresh_tokens),
                    )
                    .route(
                        "/refresh-tokens/restore",
                        web::post().to(control::restore_refresh_tokens),
                    )
                    .route("/oauth/consent", web::post().to(oauth::set_consent))
                    .route(
                        "/service-accounts",
                        web::post().to(control::add_service_account),
                    ),
            )
    })
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(1)
    .run())
}

impl Emulator {
    /// Binds and serves on the current tokio runtime.
    pub async fn start(config: EmulatorConfig) -> anyhow::Result<Emulator> {
        let listener = TcpListener::bind(&config.bind)?;
        let port = listener.local_addr()?.port();
        let base_url = config
            .public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{port}"));
        let state = Arc::new(Mutex::new(state::State::new(
            config.seed,
            config.access_token_ttl.as_secs() as i64,
            &config.primary_time_zone,
        )));
        let shared = web::Data::new(Shared {
            pusher: push::Pusher::start(state.clone()),
            state,
            base_url: base_url.clone(),
        });
        let server = build(shared, listener)?;
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Emulator {
            base_url,
            port,
            handle,
        })
    }

    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }
    pub fn api_base_url(&self) -> String {
        format!("{}/calendar/v3", self.base_url)
    }
    pub fn token_url(&self) -> String {
        format!("{}/token", self.base_url)
    }
    pub fn port(&self) -> u16 {
        self.port
    }
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// `calsync emulator`: serves until `shutdown` is cancelled.
pub async fn run(
    bind: String,
    write_credentials: Option<std::path::PathBuf>,
    seed: u64,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let emu = Emulator::start(EmulatorConfig {
        bind,
        seed,
        ..EmulatorConfig::default()
    })
    .await?;
    if let Some(dir) = write_credentials {
        credentials::write(&dir, &emu.token_url())?;
        println!("credentials written to {}", dir.display());
    }
    println!("emulator listening on {}", emu.base_url());
    println!("  GOOGLE_API_BASE_URL={}", emu.api_base_url());
    println!("  GOOGLE_TOKEN_URL={}", emu.token_url());
    shutdown.cancelled().await;
    emu.stop().await;
    Ok(())
}
