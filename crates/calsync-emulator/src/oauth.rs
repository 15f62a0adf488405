//! The installed-app OAuth flow: the authorization endpoint (auto-consent as the `login_hint` user, PKCE),
//! the authorization-code grant and `tokeninfo`, as Google's accounts and oauth2 endpoints answer them.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use base64::Engine as _;
use chrono::Utc;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Shared;
use super::dev_credentials;
use super::state::{AuthCode, LoggedRequest, State};
use super::users::{normalize, sub_of, valid_email};

pub use super::credentials::USER_EMAIL;

fn page(status: u16, title: &str, detail: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><title>{title}</title><h1>{title}</h1><p>{detail}</p>"
        ))
}

/// Google only accepts loopback redirects over plain http for installed apps.
fn loopback(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http"
            && matches!(
                u.host_str(),
                Some("127.0.0.1") | Some("localhost") | Some("[::1]")
            )
    })
}

fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> HttpResponse {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => {
            return page(
                400,
                "Error 400: redirect_uri_mismatch",
                "Invalid redirect URI.",
            );
        }
    };
    url.query_pairs_mut().extend_pairs(params.iter().copied());
    HttpResponse::Found()
        .insert_header((actix_web::http::header::LOCATION, url.to_string()))
        .finish()
}

/// Counts and logs one request to Google's OAuth endpoints.
pub fn log(
    state: &mut State,
    call: (&str, &str, &str),
    query: String,
    status: u16,
    user: Option<String>,
) {
    let (method, http_method, path) = call;
    *state.counts.entry(method.into()).or_default() += 1;
    state.log.push(LoggedRequest {
        method: method.into(),
        http_method: http_method.into(),
        path: path.into(),
        query,
        status,
        at_ms: Utc::now().timestamp_millis(),
        user,
    });
}

/// `GET /o/oauth2/auth`: the consent screen. The user named by `login_hint` (created if absent; the
/// default user without it) always consents (unless the control API says to refuse) and is sent back
/// to the loopback redirect with a code. `access_type`, `prompt`, `include_granted_scopes` are accepted:
/// every code yields a refresh token.
pub async fn authorize(
    s: web::Data<Shared>,
    req: actix_web::HttpRequest,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let mut state = s.lock();
    let (resp, user) = authorize_in(&mut state, &q);
    let status = resp.status().as_u16();
    let call = ("oauth.authorize", "GET", "/o/oauth2/auth");
    log(
        &mut state,
        call,
        req.query_string().to_string(),
        status,
        user,
    );
    resp
}

/// The consent screen's answer, and the user a code was issued for.
fn authorize_in(state: &mut State, q: &HashMap<String, String>) -> (HttpResponse, Option<String>) {
    let resp = |r: HttpResponse| (r, None);
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let (client_id, redirect_uri) = (get("client_id"), get("redirect_uri"));
    if client_id != dev_credentials::CLIENT_ID {
        return resp(page(
            401,
            "Error 401: invalid_client",
            "The OAuth client was not found.",
        ));
    }
    if !loopback(redirect_uri) {
        return resp(page(
            400,
            "Error 400: redirect_uri_mismatch",
            "Installed apps must redirect to a loopback address.",
        ));
    }
    let st = get("state");
    if get("response_type") != "code" {
        return resp(redirect_with(
            redirect_uri,
            &[("error", "unsupported_response_type"), ("state", st)],
        ));
    }
    let (challenge, method) = (get("code_challenge"), get("code_challenge_method"));
    if !challenge.is_empty() && !matches!(method, "S256" | "plain" | "") {
        return resp(redirect_with(
            redirect_uri,
            &[("error", "invalid_request"), ("state", st)],
        ));
    }
    let scope = get("scope");
    if scope.is_empty() {
        return resp(redirect_with(
            redirect_uri,
            &[("error", "invalid_scope"), ("state", st)],
        ));
    }
    if state.deny_consent {
        return resp(redirect_with(
            redirect_uri,
            &[("error", "access_denied"), ("state", st)],
        ));
    }
    // Google shows its account chooser for a hint it cannot use; the emulator consents as the default user.
    let hint = normalize(get("login_hint"));
    let user = if valid_email(&hint) {
        state.ensure_user(&hint).email.clone()
    } else {
        super::credentials::USER_EMAIL.to_string()
    };
    use rand::Rng;
    let code = format!("4/0Aemu{:032x}", state.rng.random::<u128>());
    state.auth_codes.insert(
        code.clone(),
        AuthCode {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            code_challenge: if method == "plain" {
                format!("plain:{challenge}")
            } else {
                challenge.to_string()
            },
            scope: scope.into(),
            user: user.clone(),
            expires: Utc::now() + chrono::Duration::minutes(10),
        },
    );
    let r = redirect_with(
        redirect_uri,
        &[("state", st), ("code", &code), ("scope", scope)],
    );
    (r, Some(user))
}

fn oauth_error(error: &str, description: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": error, "error_description": description}))
}

fn pkce_ok(stored: &str, verifier: &str) -> bool {
    if stored.is_empty() {
        return true;
    }
    if let Some(plain) = stored.strip_prefix("plain:") {
        return plain == verifier;
    }
    let digest = Sha256::digest(verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) == stored
}

/// The `authorization_code` grant: one use per code, same client and redirect, PKCE verified; the
/// tokens are the consenting user's. Also returns that user, for the request log.
pub fn exchange(
    state: &mut State,
    form: &HashMap<String, String>,
) -> (HttpResponse, Option<String>) {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != dev_credentials::CLIENT_ID
        || get("client_secret") != dev_credentials::CLIENT_SECRET
    {
        let e = HttpResponse::Unauthorized()
            .json(json!({"error": "invalid_client", "error_description": "Unauthorized"}));
        return (e, None);
    }
    let Some(code) = state.auth_codes.remove(get("code")) else {
        return (oauth_error("invalid_grant", "Malformed auth code."), None);
    };
    if code.expires < Utc::now() {
        return (oauth_error("invalid_grant", "Bad Request"), None);
    }
    if code.client_id != get("client_id") || code.redirect_uri != get("redirect_uri") {
        return (oauth_error("redirect_uri_mismatch", "Bad Request"), None);
    }
    if !pkce_ok(&code.code_challenge, get("code_verifier")) {
        return (oauth_error("invalid_grant", "Invalid code verifier."), None);
    }
    let user = state.ensure_user(&code.user).email.clone();
    let refresh = state.issue_refresh_token(&user, &code.scope);
    let mut body = state.issue_access_token(&user, &code.scope, Some(&refresh));
    body["refresh_token"] = Value::String(refresh);
    if code.scope.split(' ').any(|s| s == "openid" || s == "email") {
        body["id_token"] = Value::String(id_token(&code.client_id, &user));
    }
    (HttpResponse::Ok().json(body), Some(user))
}

/// An OpenID Connect id token for `email` (signed with the client secret: calsync, like Google's own
/// libraries for tokens fetched straight from the token endpoint, only reads it).
fn id_token(client_id: &str, email: &str) -> String {
    let now = Utc::now().timestamp();
    let claims = json!({"iss": "https://accounts.google.com", "aud": client_id, "azp": client_id,
        "sub": sub_of(email), "email": email, "email_verified": true, "iat": now, "exp": now + 3600});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(dev_credentials::CLIENT_SECRET.as_bytes()),
    )
    .unwrap_or_default()
}

/// `GET /tokeninfo?access_token=…`: what Google says about a live access token.
pub async fn tokeninfo(
    s: web::Data<Shared>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let mut state = s.lock();
    let token = q.get("access_token").cloned().unwrap_or_default();
    let live = state
        .access_tokens
        .get(&token)
        .filter(|t| t.expires > Utc::now())
        .cloned();
    let user = live.as_ref().map(|t| t.user.clone());
    let resp = match live {
        None => oauth_error("invalid_token", "Invalid Value"),
        Some(t) => {
            let (exp, scope) = (t.expires, t.scope);
            let mut body = json!({"azp": dev_credentials::CLIENT_ID, "aud": dev_credentials::CLIENT_ID,
                "scope": scope, "exp": exp.timestamp().to_string(),
                "expires_in": (exp - Utc::now()).num_seconds().max(0).to_string(),
                "access_type": "offline"});
            if scope.split(' ').any(|s| s == "email") {
                body["sub"] = json!(sub_of(&t.user));
                body["email"] = json!(t.user);
                body["email_verified"] = json!("true");
            }
            HttpResponse::Ok().json(body)
        }
    };
    let status = resp.status().as_u16();
    let call = ("oauth.tokeninfo", "GET", "/tokeninfo");
    log(&mut state, call, String::new(), status, user);
    resp
}

#[derive(serde::Deserialize)]
pub struct Consent {
    pub approve: bool,
}

/// Control API: make the consent screen refuse (`access_denied`) or approve again.
pub async fn set_consent(s: web::Data<Shared>, body: web::Json<Consent>) -> HttpResponse {
    s.lock().deny_consent = !body.approve;
    HttpResponse::Ok().json(json!({"approve": body.approve}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_ok(
            challenge,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!pkce_ok(
            challenge,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"
        ));
    }

    #[test]
    fn only_loopback_redirects() {
        assert!(loopback("http://127.0.0.1:5173/"));
        assert!(loopback("http://localhost:8080/cb"));
        assert!(!loopback("https://127.0.0.1/"));
        assert!(!loopback("http://evil.example/"));
    }
}
