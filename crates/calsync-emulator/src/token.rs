//! The token endpoint (`POST /token`): refresh-token and JWT-bearer grants, short-lived access tokens.

use std::collections::HashMap;

use actix_web::HttpResponse;
use chrono::Utc;
use serde_json::{Value, json};

use super::dev_credentials;
use super::state::State;

fn oauth_error(code: u16, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap_or_default())
        .json(json!({"error": error, "error_description": description}))
}

fn issue(state: &mut State, scope: &str) -> HttpResponse {
    HttpResponse::Ok().json(state.issue_access_token(scope))
}

pub fn grant(state: &mut State, form: &HashMap<String, String>, token_url: &str) -> HttpResponse {
    match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => {
            if form.get("client_id").map(String::as_str) != Some(dev_credentials::CLIENT_ID)
                || form.get("client_secret").map(String::as_str)
                    != Some(dev_credentials::CLIENT_SECRET)
            {
                return oauth_error(401, "invalid_client", "The OAuth client was not found.");
            }
            let refresh = form.get("refresh_token").cloned().unwrap_or_default();
            if !state.refresh_tokens.contains_key(&refresh) {
                return oauth_error(400, "invalid_grant", "Token has been expired or revoked.");
            }
            let scope = state
                .token_scopes
                .get(&refresh)
                .cloned()
                .unwrap_or_else(|| "https://www.googleapis.com/auth/calendar".into());
            issue(state, &scope)
        }
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {
            let Some(assertion) = form.get("assertion") else {
                return oauth_error(400, "invalid_request", "Missing assertion.");
            };
            match verify_assertion(state, assertion, token_url) {
                Ok(scope) => issue(state, &scope),
                Err(why) => oauth_error(400, "invalid_grant", why),
            }
        }
        Some("authorization_code") => super::oauth::exchange(state, form),
        _ => oauth_error(400, "unsupported_grant_type", "Invalid grant_type."),
    }
}

fn verify_assertion(
    state: &State,
    assertion: &str,
    token_url: &str,
) -> Result<String, &'static str> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| "Invalid JWT.")?;
    if header.alg != jsonwebtoken::Algorithm::RS256 {
        return Err("Invalid JWT: alg must be RS256.");
    }
    let unverified =
        jsonwebtoken::dangerous::insecure_decode::<Value>(assertion).map_err(|_| "Invalid JWT.")?;
    let iss = unverified
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or("Invalid JWT: no iss.")?;
    let account = state
        .service_accounts
        .get(iss)
        .ok_or("Invalid JWT Signature.")?;
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(account.public_key_pem.as_bytes())
        .map_err(|_| "Invalid JWT Signature.")?;
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[token_url, "https://oauth2.googleapis.com/token"]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    let data =
        jsonwebtoken::decode::<Value>(assertion, &key, &v).map_err(|_| "Invalid JWT Signature.")?;
    let c = &data.claims;
    let iat = c
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or("Invalid JWT: no iat.")?;
    let exp = c
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or("Invalid JWT: no exp.")?;
    if exp - iat > 3600 {
        return Err("Invalid JWT: exp too far after iat (max 1 hour).");
    }
    let scope = c
        .get("scope")
        .and_then(Value::as_str)
        .ok_or("Invalid JWT: no scope.")?;
    Ok(scope.to_string())
}

/// True when `Authorization: Bearer <token>` names a live access token.
pub fn authorized(state: &State, header: Option<&str>) -> bool {
    header
        .and_then(|h| h.strip_prefix("Bearer "))
        .and_then(|t| state.access_tokens.get(t.trim()))
        .is_some_and(|exp| *exp > Utc::now())
}
