//! The status page's forms: sign-in (`POST /login`, token checked against the policy and the
//! per-address limit before the body is read), logout, and the resolve form (sign-in and Origin
//! checked before its body is read). Bodies are small and read under the request's deadline.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::body::{FormError, field, read_form};
use super::html_page::{login_page, notice};
use crate::signin::Denied;

const COOKIE: &str = "calsync_admin";
/// Largest form accepted (a token, or a choice).
const MAX_FORM_BYTES: usize = 8 * 1024;

/// The claims of the admin (or account-scoped) token from `Authorization: Bearer` or the login
/// cookie, None when there is no valid one; `Limited` when this address failed too often (the
/// token is not even checked then).
pub(super) fn sign_in(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Option<crate::admin_auth::Claims>, Denied> {
    let header_token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let Some(token) = header_token.or_else(|| req.cookie(COOKIE).map(|c| c.value().to_string()))
    else {
        return Ok(None);
    };
    let peer = req.peer_addr().map(|a| a.ip());
    match state
        .signins
        .check(&state.settings.admin, peer, &token, "status page")
    {
        Ok(claims) => Ok(Some(claims)),
        Err(Denied::Limited) => Err(Denied::Limited),
        Err(_) => Ok(None),
    }
}

/// A form post must come from this page: SameSite=Strict cookie, and an Origin (when sent) equal
/// to the configured public URL's (scheme, host and port), or else to `http://` and the request's
/// own `Host` (never `X-Forwarded-Host`, which any client can send).
fn same_origin(req: &HttpRequest, state: &AppState) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let expected = match &state.settings.server.public_url {
        Some(public) => url::Url::parse(public).ok(),
        None => req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| url::Url::parse(&format!("http://{h}")).ok()),
    };
    match (url::Url::parse(origin), expected) {
        (Ok(o), Some(e)) => o.origin().is_tuple() && o.origin() == e.origin(),
        _ => false,
    }
}

pub(super) fn too_many() -> HttpResponse {
    let mut resp = notice(
        actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        "calsync: sign in",
        "Too many failed sign-ins from this address; retry in a minute.",
        false,
    );
    if let Ok(v) = header::HeaderValue::from_str(&crate::signin::WINDOW.as_secs().to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn form_error(e: FormError) -> HttpResponse {
    let (status, text) = match e {
        FormError::TimedOut => (
            actix_web::http::StatusCode::REQUEST_TIMEOUT,
            "The form did not arrive in time.",
        ),
        FormError::TooLarge => (
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            "The form is too large.",
        ),
        FormError::Broken => (
            actix_web::http::StatusCode::BAD_REQUEST,
            "The form could not be read.",
        ),
    };
    let mut resp = notice(status, "calsync", text, false);
    resp.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    resp
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    let peer = req.peer_addr().map(|a| a.ip());
    // A limited address is turned away before its body is read.
    if state.signins.is_limited(&state.settings.admin, peer) {
        return too_many();
    }
    let form = match read_form(payload, MAX_FORM_BYTES).await {
        Ok(f) => f,
        Err(e) => return form_error(e),
    };
    let token = field(&form, "token").unwrap_or_default().trim();
    match state
        .signins
        .check(&state.settings.admin, peer, token, "login")
    {
        Ok(_) => {}
        Err(Denied::Disabled) => {
            return login_page(Some(
                "The admin API is disabled: ADMIN_JWT_SECRET is not set.",
            ));
        }
        Err(Denied::Limited) => return too_many(),
        Err(Denied::Refused(_)) => {
            return login_page(Some(
                "That token is not valid (wrong key, expired or revoked).",
            ));
        }
    }
    let secure = req.connection_info().scheme() == "https";
    let cookie = Cookie::build(COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish();
    HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, "/"))
        .finish()
}

pub async fn logout() -> HttpResponse {
    let mut cookie = Cookie::build(COOKIE, "").path("/").finish();
    cookie.make_removal();
    HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, "/"))
        .finish()
}

pub async fn resolve(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    // Sign-in and origin first: an anonymous or cross-site caller costs no body read.
    let claims = match sign_in(&req, &state) {
        Ok(Some(claims)) => claims,
        Ok(None) => return login_page(None),
        Err(_) => return too_many(),
    };
    if !same_origin(&req, &state) {
        return HttpResponse::Forbidden().body("cross-origin form refused");
    }
    let Ok(id) = path.parse::<uuid::Uuid>() else {
        return HttpResponse::NotFound().body("no such conflict");
    };
    let form = match read_form(payload, MAX_FORM_BYTES).await {
        Ok(f) => f,
        Err(e) => return form_error(e),
    };
    let keep = field(&form, "keep").unwrap_or_default();
    // An account-scoped token resolves its own account's conflicts only: others are not found.
    if let Some(own) = claims.account() {
        let mine = match crate::db::conflicts::calendar_of(&state.pool, id).await {
            Ok(Some(calendar)) => crate::db::calendars::account_of(&state.pool, &calendar)
                .await
                .ok()
                .flatten()
                .is_some_and(|a| a == own),
            _ => false,
        };
        if !mine {
            return HttpResponse::NotFound().body("no such conflict");
        }
    }
    match super::conflicts::apply(&state.pool, id, keep).await {
        Ok(_) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/"))
            .finish(),
        Err(e) => {
            use actix_web::ResponseError;
            let status = e.status_code();
            notice(status, "calsync: conflict", &e.to_string(), true)
        }
    }
}
