//! The gate in front of `/calendar/v3/*`: counts and logs every request with its token's user, injects
//! the global faults and that user's own, refuses unknown or expired tokens (401), and tells the
//! handlers who calls ([`Caller`]).

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use chrono::Utc;

use super::faults::{Faults, Injected};
use super::state::{LoggedRequest, State};
use super::users::Caller;
use super::{Shared, errors};

/// The API method a request calls, Google's naming (`events.list`), for counts and the log.
pub fn method_name(method: &str, path: &str) -> String {
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

/// What the gate decided for one request, under the lock.
#[derive(Default)]
struct Decision {
    /// The token's user, when the emulator issued that token (expired or not).
    user: Option<String>,
    /// The token is live.
    authorized: bool,
    injected: Option<Injected>,
    retry_after: Option<u64>,
    latency: Duration,
    response_delay: Duration,
}

impl Decision {
    /// Applies one set of faults (a draw only while nothing was injected yet; delays add up).
    fn apply(&mut self, faults: &mut Faults, rng: &mut rand::rngs::StdRng, path: &str) {
        if self.injected.is_none() {
            self.injected = faults.draw(rng);
            if self.injected.is_some() {
                self.retry_after = faults.retry_after_secs;
            }
        }
        if faults.slows(path) {
            self.latency += faults.latency();
            self.response_delay += Duration::from_millis(faults.response_delay_ms);
        }
    }
}

fn decide(st: &mut State, name: &str, path: &str, auth: Option<&str>) -> Decision {
    *st.counts.entry(name.to_string()).or_default() += 1;
    let token = auth
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .and_then(|t| st.access_tokens.get(t));
    let mut d = Decision {
        user: token.map(|t| t.user.clone()),
        authorized: token.is_some_and(|t| t.expires > Utc::now()),
        ..Decision::default()
    };
    let state = &mut *st;
    d.apply(&mut state.faults, &mut state.rng, path);
    if let Some(user) = d.user.clone()
        && let Some(u) = state.users.get_mut(&user)
    {
        d.apply(&mut u.faults, &mut u.rng, path);
    }
    d
}

/// The middleware (`actix_web::middleware::from_fn`).
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(shared) = req.app_data::<web::Data<Shared>>().cloned() else {
        return Ok(req.into_response(errors::unauthorized()));
    };
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
    let d = decide(&mut shared.lock(), &name, &path, auth.as_deref());
    if !d.latency.is_zero() {
        tokio::time::sleep(d.latency).await;
    }
    let res = match (d.injected, d.authorized, &d.user) {
        (None, true, Some(user)) => {
            req.extensions_mut().insert(Caller(user.clone()));
            next.call(req).await?.map_into_boxed_body()
        }
        (Some(kind), _, _) => {
            let mut resp = match kind {
                Injected::RateLimit403 => errors::rate_limited(403),
                Injected::Status(429) => errors::rate_limited(429),
                Injected::Status(code) => {
                    errors::google_error(code, "global", "backendError", "Backend Error")
                }
            };
            if let Some(secs) = d.retry_after {
                resp.headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(secs));
            }
            req.into_response(resp)
        }
        _ => req.into_response(errors::unauthorized()),
    };
    if !d.response_delay.is_zero() {
        tokio::time::sleep(d.response_delay).await;
    }
    shared.lock().log.push(LoggedRequest {
        method: name,
        http_method,
        path,
        query,
        status: res.status().as_u16(),
        at_ms: Utc::now().timestamp_millis(),
        user: d.user,
    });
    Ok(res)
}
