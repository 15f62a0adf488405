//! Google's revocation endpoint (`POST https://oauth2.googleapis.com/revoke`, `token=` in the form body or
//! the query): a refresh token goes with every access token issued from it; an access token takes its
//! refresh token along, as Google documents ("if the token is an access token and it has a corresponding
//! refresh token, the refresh token will also be revoked").

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::json;

use super::Shared;
use super::oauth::log;
use super::state::State;

/// Forgets `token`; the user it belonged to, or `None` when it was unknown, expired or already revoked.
fn revoke(state: &mut State, token: &str) -> Option<String> {
    if let Some(grant) = state.refresh_tokens.get(token) {
        if grant.revoked {
            return None;
        }
        let user = grant.user.clone();
        forget_grant(state, token);
        return Some(user);
    }
    let access = state
        .access_tokens
        .remove(token)
        .filter(|t| t.expires > Utc::now())?;
    if let Some(refresh) = &access.refresh {
        forget_grant(state, refresh);
    }
    Some(access.user)
}

/// Forgets a refresh token and every access token issued from it.
fn forget_grant(state: &mut State, refresh: &str) {
    state.refresh_tokens.remove(refresh);
    state
        .access_tokens
        .retain(|_, t| t.refresh.as_deref() != Some(refresh));
}

/// `POST /revoke`: 200 `{}`, or 400 `invalid_token` for a token that is unknown, expired or revoked.
pub async fn endpoint(
    s: web::Data<Shared>,
    req: HttpRequest,
    q: web::Query<HashMap<String, String>>,
    body: web::Bytes,
) -> HttpResponse {
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .or_else(|| q.get("token").cloned())
        .unwrap_or_default();
    let mut state = s.lock();
    let user = revoke(&mut state, &token);
    let resp = match &user {
        Some(_) => HttpResponse::Ok().json(json!({})),
        None => HttpResponse::BadRequest().json(json!({"error": "invalid_token",
            "error_description": "Token expired or revoked"})),
    };
    let status = resp.status().as_u16();
    // The token itself is a secret: the log keeps the query without it.
    let query = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k != "token")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    log(
        &mut state,
        ("oauth.revoke", "POST", "/revoke"),
        query,
        status,
        user,
    );
    resp
}
