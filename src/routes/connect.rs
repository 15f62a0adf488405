//! The connect flow for teams: `GET /connect/google?account=NAME&casquette=ROLE` (an admin, by
//! bearer token or the status page's sign-in) sends the browser to Google's consent screen (offline
//! access, `prompt=consent`, PKCE, `state`); `GET /connect/google/callback` checks `state`,
//! exchanges the code, seals the refresh token in PostgreSQL, and adds the account's calendars
//! (`calendarList.list`, or its primary alone with `calendars=primary`) with their channels.
//!
//! No server-side state: the attempt (state, PKCE verifier, account, role) travels in an HttpOnly
//! cookie signed with the admin secret, so any replica can take the callback. The cookie is
//! SameSite=Lax (Google's redirect back is a cross-site top-level GET) and lives ten minutes.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieAge};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use maud::html;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use super::AppState;
use super::html_page::{login_page, notice, page};
use crate::google::installed_flow::Attempt;

const COOKIE: &str = "calsync_connect";
const LIFETIME_SECS: i64 = 600;

/// One attempt, as the signed cookie carries it.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    state: String,
    verifier: String,
    account: String,
    casquette: String,
    primary_only: bool,
    expires: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Start {
    pub account: String,
    pub casquette: String,
    /// `all` (default): every calendar of `calendarList.list`; `primary`: the primary alone.
    pub calendars: Option<String>,
    /// Which Google account to suggest on the consent screen (Google's `login_hint`).
    pub login_hint: Option<String>,
}

fn fail(status: StatusCode, text: &str) -> HttpResponse {
    notice(status, "calsync: connect an account", text, true)
}

/// The cookie's MAC, under a key of its own derived from the admin secret (never the secret that
/// signs admin tokens itself).
fn mac(secret: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut derive =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    derive.update(b"calsync connect attempt v1");
    let key = derive.finalize().into_bytes();
    Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length")
}

fn seal(secret: &str, p: &Pending) -> String {
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(p).unwrap_or_default());
    let mut m = mac(secret);
    m.update(body.as_bytes());
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{body}.{sig}")
}

fn open(secret: &str, cookie: &str) -> Option<Pending> {
    let (body, sig) = cookie.split_once('.')?;
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .ok()?;
    let mut m = mac(secret);
    m.update(body.as_bytes());
    m.verify_slice(&sig).ok()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .ok()?;
    let p: Pending = serde_json::from_slice(&bytes).ok()?;
    (p.expires > chrono::Utc::now().timestamp()).then_some(p)
}

fn redirect_uri(state: &AppState) -> Option<String> {
    let public = state.settings.server.public_url.as_deref()?;
    Some(format!(
        "{}/connect/google/callback",
        public.trim_end_matches('/')
    ))
}

/// `GET /connect/google`: checks the request, then redirects to the consent screen.
pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<Start>,
) -> HttpResponse {
    let claims = match super::status_forms::sign_in(&req, &state) {
        Ok(Some(c)) => c,
        Ok(None) => return login_page(Some("Sign in with an admin token to connect an account.")),
        Err(_) => return super::status_forms::too_many(),
    };
    if claims.account().is_some() {
        return fail(
            StatusCode::FORBIDDEN,
            "An admin token is required to connect an account.",
        );
    }
    let Some(secret) = state.settings.admin.jwt_secret.as_ref() else {
        return fail(StatusCode::FORBIDDEN, "ADMIN_JWT_SECRET is not set.");
    };
    let q = q.into_inner();
    if !crate::accounts::valid_name(&q.account) {
        return fail(
            StatusCode::BAD_REQUEST,
            &format!(
                "account: not an account name ({})",
                crate::accounts::NAME_RULE
            ),
        );
    }
    if !state
        .settings
        .google_calendar
        .casquettes
        .contains(&q.casquette)
    {
        return fail(StatusCode::BAD_REQUEST, "casquette: not a known role");
    }
    if matches!(
        state.settings.account_source(&q.account),
        crate::config::AccountSource::Files(_)
    ) {
        return fail(
            StatusCode::CONFLICT,
            "This account takes its credentials from the config file.",
        );
    }
    if let Err(e) = state.settings.secrets.keys() {
        return fail(
            StatusCode::CONFLICT,
            &format!("Cannot seal the token: {}", e.message),
        );
    }
    let Some(redirect) = redirect_uri(&state) else {
        return fail(
            StatusCode::CONFLICT,
            "WEBHOOK_PUBLIC_URL is not set: Google has nowhere to send the browser back.",
        );
    };
    let client = match state.oauth_client() {
        Ok(c) => c,
        Err(e) => return fail(StatusCode::CONFLICT, &e),
    };
    let attempt = Attempt::new(redirect);
    let mut url = match attempt.authorization_url(&client) {
        Ok(u) => u,
        Err(e) => return fail(StatusCode::CONFLICT, &format!("{e:#}")),
    };
    if let Some(hint) = q.login_hint.as_deref().filter(|h| !h.is_empty()) {
        url.push_str("&login_hint=");
        url.push_str(&url::form_urlencoded::byte_serialize(hint.as_bytes()).collect::<String>());
    }
    let pending = Pending {
        state: attempt.state,
        verifier: attempt.verifier,
        account: q.account,
        casquette: q.casquette,
        primary_only: q.calendars.as_deref() == Some("primary"),
        expires: chrono::Utc::now().timestamp() + LIFETIME_SECS,
    };
    let cookie = Cookie::build(COOKIE, seal(secret.expose(), &pending))
        .path("/connect/google")
        .http_only(true)
        .secure(req.connection_info().scheme() == "https")
        .same_site(SameSite::Lax)
        .max_age(CookieAge::seconds(LIFETIME_SECS))
        .finish();
    tracing::info!(account = %pending.account, "connect flow started");
    HttpResponse::Found()
        .cookie(cookie)
        .insert_header((header::LOCATION, url))
        .finish()
}

/// `GET /connect/google/callback`: the consent screen's answer.
pub async fn callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(secret) = state.settings.admin.jwt_secret.as_ref() else {
        return fail(StatusCode::FORBIDDEN, "ADMIN_JWT_SECRET is not set.");
    };
    let Some(pending) = req
        .cookie(COOKIE)
        .and_then(|c| open(secret.expose(), c.value()))
    else {
        return fail(
            StatusCode::BAD_REQUEST,
            "This connection attempt is unknown or expired: start again from /connect/google.",
        );
    };
    let mut gone = Cookie::build(COOKIE, "").path("/connect/google").finish();
    gone.make_removal();
    let done = |resp: HttpResponse| {
        let mut resp = resp;
        let _ = resp.add_removal_cookie(&gone);
        resp
    };
    let (Some(redirect), Ok(client)) = (redirect_uri(&state), state.oauth_client()) else {
        return done(fail(
            StatusCode::CONFLICT,
            "The OAuth client or the public URL is gone.",
        ));
    };
    let attempt = Attempt {
        verifier: pending.verifier.clone(),
        state: pending.state.clone(),
        redirect_uri: redirect,
    };
    let code = match attempt.code_from_redirect(&req.uri().to_string()) {
        Ok(code) => code,
        Err(e) => return done(fail(StatusCode::BAD_REQUEST, &format!("{e:#}"))),
    };
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    let granted =
        match crate::google::installed_flow::exchange(&http, &client, &attempt, &code).await {
            Ok(g) => g,
            Err(e) => return done(fail(StatusCode::BAD_GATEWAY, &format!("{e:#}"))),
        };
    let manager = state.manager();
    let account = pending.account.as_str();
    if let Err(e) = manager.connect(account, &granted.file).await {
        return done(fail(StatusCode::CONFLICT, &e.to_string()));
    }
    let added = match add_calendars(&state, &pending).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(account = %account, error.cause = %e, "connected, but its calendars were not listed");
            return done(fail(
                StatusCode::BAD_GATEWAY,
                &format!(
                    "Account {account} is connected, but its calendars could not be listed ({e}); add them with POST /admin/calendars."
                ),
            ));
        }
    };
    done(page(
        StatusCode::OK,
        "calsync: account connected",
        html! {
            h1 { "calsync" }
            p.ok #connected { "Account " (account) " connected: " (added.len()) " calendar(s)." }
            ul { @for c in &added { li { (c.name) " " span.muted { (c.id) } } } }
            p { a href="/" { "status page" } }
        },
    ))
}

/// The account's calendars from `calendarList.list` (the primary under its alias `primary`),
/// added with the attempt's role.
async fn add_calendars(
    state: &AppState,
    pending: &Pending,
) -> Result<Vec<crate::db::calendars::CalendarRow>, String> {
    let google = state
        .syncer
        .as_ref()
        .ok_or("Google sync is off")?
        .google
        .clone();
    let list = google
        .client(&pending.account)
        .await
        .map_err(|e| e.to_string())?
        .calendar_list()
        .await
        .map_err(|e| e.to_string())?;
    let manager = state.manager();
    let mut added = Vec::new();
    for item in list
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let primary = item.get("primary").and_then(Value::as_bool) == Some(true);
        if pending.primary_only && !primary {
            continue;
        }
        // calsync writes to what it syncs: calendars the user may only read are left out.
        let role = item.get("accessRole").and_then(Value::as_str);
        if !matches!(role, Some("owner" | "writer")) {
            continue;
        }
        let Some(id) = item.get("id").and_then(Value::as_str) else {
            continue;
        };
        let id = if primary { "primary" } else { id };
        let name = item
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or(id)
            .to_string();
        let row = manager
            .add_calendar(&pending.account, id, &name, &pending.casquette, None)
            .await
            .map_err(|e| e.to_string())?;
        added.push(row);
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attempt_cookie_opens_only_with_its_key_and_before_it_expires() {
        let p = Pending {
            state: "s".into(),
            verifier: "v".into(),
            account: "labo".into(),
            casquette: "chercheur".into(),
            primary_only: false,
            expires: chrono::Utc::now().timestamp() + 60,
        };
        let sealed = seal("key-1", &p);
        assert_eq!(
            open("key-1", &sealed).map(|p| p.account),
            Some("labo".into())
        );
        assert!(open("key-2", &sealed).is_none(), "another key");
        let tampered = sealed.replacen('e', "f", 1);
        assert!(open("key-1", &tampered).is_none() || tampered == sealed);
        let old = seal("key-1", &Pending { expires: 0, ..p });
        assert!(open("key-1", &old).is_none(), "expired");
    }
}
