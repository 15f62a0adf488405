//! The installed-app OAuth flow: the authorization endpoint (auto-consent, PKCE), the
//! authorization-code grant and `tokeninfo`, as Google's accounts and oauth2 endpoints answer them.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use base64::Engine as _;
use chrono::Utc;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Shared;
use super::dev_credentials;
use super::state::{AuthCode, LoggedRequest, State};

pub use super::credentials::USER_EMAIL;
/// Google's stable account id for [`USER_EMAIL`].
pub const USER_SUB: &str = "107354917463802918467";

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

fn log(state: &mut State, method: &str, path: &str, query: String, status: u16) {
    *state.counts.entry(method.into()).or_default() += 1;
    state.log.push(LoggedRequest {
        method: method.into(),
        http_method: "GET".into(),
        path: path.into(),
        query,
        status,
        at_ms: Utc::now().timestamp_millis(),
    });
}

/// `GET /o/oauth2/auth`: the consent screen. The emulator's user always consents (unless the
/// control API says to refuse) and is sent back to the loopback redirect with a code.
pub async fn authorize(
    s: web::Data<Shared>,
    req: actix_web::HttpRequest,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let mut state = s.lock();
    let resp = authorize_in(&mut state, &q);
    let status = resp.status().as_u16();
    log(
        &mut state,
        "oauth.authorize",
        "/o/oauth2/auth",
        req.query_string().to_string(),
        status,
    );
    resp
}

fn authorize_in(state: &mut State, q: &HashMap<String, String>) -> HttpResponse {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let (client_id, redirect_uri) = (get("client_id"), get("redirect_uri"));
    if client_id != dev_credentials::CLIENT_ID {
        return page(
            401,
            "Error 401: invalid_client",
            "The OAuth client was not found.",
        );
    }
    if !loopback(redirect_uri) {
        return page(
            400,
            "Error 400: redirect_uri_mismatch",
            "Installed apps must redirect to a loopback address.",
        );
    }
    let st = get("state");
    if get("response_type") != "code" {
        return redirect_with(
            redirect_uri,
            &[("error", "unsupported_response_type"), ("state", st)],
        );
    }
    let (challenge, method) = (get("code_challenge"), get("code_challenge_method"));
    if !challenge.is_empty() && !matches!(method, "S256" | "plain" | "") {
        return redirect_with(redirect_uri, &[("error", "invalid_request"), ("state", st)]);
    }
    let scope = get("scope");
    if scope.is_empty() {
        return redirect_with(redirect_uri, &[("error", "invalid_scope"), ("state", st)]);
    }
    if state.deny_consent {
        return redirect_with(redirect_uri, &[("error", "access_denied"), ("state", st)]);
    }
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
            expires: Utc::now() + chrono::Duration::minutes(10),
        },
    );
    redirect_with(
        redirect_uri,
        &[("state", st), ("code", &code), ("scope", scope)],
    )
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

/// The `authorization_code` grant: one use per code, same client and redirect, PKCE verified.
pub fn exchange(state: &mut State, form: &HashMap<String, String>) -> HttpResponse {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != dev_credentials::CLIENT_ID
        || get("client_secret") != dev_credentials::CLIENT_SECRET
    {
        return HttpResponse::Unauthorized()
            .json(json!({"error": "invalid_client", "error_description": "Unauthorized"}));
    }
    let Some(code) = state.auth_codes.remove(get("code")) else {
        return oauth_error("invalid_grant", "Malformed auth code.");
    };
    if code.expires < Utc::now() {
        return oauth_error("invalid_grant", "Bad Request");
    }
    if code.client_id != get("client_id") || code.redirect_uri != get("redirect_uri") {
        return oauth_error("redirect_uri_mismatch", "Bad Request");
    }
    if !pkce_ok(&code.code_challenge, get("code_verifier")) {
        return oauth_error("invalid_grant", "Invalid code verifier.");
    }
    use rand::Rng;
    let refresh = format!("1//0emu{:032x}", state.rng.random::<u128>());
    state
        .refresh_tokens
        .insert(refresh.clone(), code.client_id.clone());
    state
        .token_scopes
        .insert(refresh.clone(), code.scope.clone());
    let mut body = state.issue_access_token(&code.scope);
    body["refresh_token"] = Value::String(refresh);
    if code.scope.split(' ').any(|s| s == "openid" || s == "email") {
        body["id_token"] = Value::String(id_token(&code.client_id));
    }
    HttpResponse::Ok().json(body)
}

/// An OpenID Connect id token for the emulator's user (signed with the client secret: calsync,
/// like Google's own libraries for tokens fetched straight from the token endpoint, only reads it).
fn id_token(client_id: &str) -> String {
    let now = Utc::now().timestamp();
    let claims = json!({"iss": "https://accounts.google.com", "aud": client_id, "azp": client_id,
        "sub": USER_SUB, "email": USER_EMAIL, "email_verified": true, "iat": now, "exp": now + 3600});
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
        .copied()
        .filter(|exp| *exp > Utc::now());
    let resp = match live {
        None => oauth_error("invalid_token", "Invalid Value"),
        Some(exp) => {
            let scope = state.token_scopes.get(&token).cloned().unwrap_or_default();
            let mut body = json!({"azp": dev_credentials::CLIENT_ID, "aud": dev_credentials::CLIENT_ID,
                "scope": scope, "exp": exp.timestamp().to_string(),
                "expires_in": (exp - Utc::now()).num_seconds().max(0).to_string(),
                "access_type": "offline"});
            if scope.split(' ').any(|s| s == "email") {
                body["sub"] = json!(USER_SUB);
                body["email"] = json!(USER_EMAIL);
                body["email_verified"] = json!("true");
            }
            HttpResponse::Ok().json(body)
        }
    };
    let status = resp.status().as_u16();
    log(
        &mut state,
        "oauth.tokeninfo",
        "/tokeninfo",
        String::new(),
        status,
    );
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
