//! The routes: Google's (`/calendar/v3/...` behind the gate, `/token`, `/revoke`, the consent screen,
//! `/tokeninfo`) and the control API (`/emulator/...`, its calendar-scoped part also per user under
//! `/emulator/users/{email}/...`).

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, Scope, middleware, web};

use super::{
    Shared, api, calendars, control, errors, gate, instances, moves, oauth, revoke, tokens,
};

/// The control routes that act on one user's calendars and tokens: unscoped under `/emulator` (the
/// default user; faults and tokens: everyone), and under `/emulator/users/{email}` for that user.
fn user_routes(scope: Scope) -> Scope {
    scope
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
        .route("/faults", web::post().to(control::set_faults))
        .route("/tokens/expire", web::post().to(tokens::expire))
        .route("/refresh-tokens/revoke", web::post().to(tokens::revoke))
        .route("/refresh-tokens/restore", web::post().to(tokens::restore))
}

fn api_routes() -> impl actix_web::dev::HttpServiceFactory {
    web::scope("/calendar/v3")
        .wrap(middleware::from_fn(gate::gate))
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
        )
}

fn control_routes() -> Scope {
    user_routes(web::scope("/emulator"))
        .route("/reset", web::post().to(control::reset))
        .route("/users", web::post().to(control::add_user))
        .route("/users", web::get().to(control::list_users))
        .route("/requests", web::get().to(control::requests))
        .route("/stats", web::get().to(control::stats))
        .route(
            "/sync-tokens/invalidate",
            web::post().to(control::invalidate_sync_tokens),
        )
        .route("/channels", web::get().to(control::channels))
        .route(
            "/channels/{id}/expire",
            web::post().to(control::expire_channel),
        )
        .route("/oauth/consent", web::post().to(oauth::set_consent))
        .route(
            "/service-accounts",
            web::post().to(control::add_service_account),
        )
}

pub fn build(shared: web::Data<Shared>, listener: TcpListener) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || {
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
            .route("/revoke", web::post().to(revoke::endpoint))
            .route("/o/oauth2/auth", web::get().to(oauth::authorize))
            .route("/tokeninfo", web::get().to(oauth::tokeninfo))
            .service(api_routes())
            // Before `/emulator`: a scope that matches a path's prefix answers it (404 included).
            .service(user_routes(web::scope("/emulator/users/{email}")))
            .service(control_routes())
    })
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(1)
    .run())
}
