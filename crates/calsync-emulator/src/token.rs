//! The token endpoint (`POST /token`): refresh-token and JWT-bearer grants (`sub` impersonates a user,
//! else the service account is its own user), short-lived access tokens bound to their user.

use std::collections::HashMap;

use actix_web::HttpResponse;
use serde_json::{Value, json};

use super::dev_credentials;
use super::state::State;
use super::users::{normalize, valid_email};

fn oauth_error(code: u16, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap_or_default())
        .json(json!({"error": error, "error_description": description}))
}

/// The token endpoint's answer, and the user it issued a token for (for the request log).
pub fn grant(
    state: &mut State,
    form: &HashMap<String, String>,
    token_url: &str,
) -> (HttpResponse, Option<String>) {
    match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => {
            if form.get("client_id").map(String::as_str) != Some(dev_credentials::CLIENT_ID)
                || form.get("client_secret").map(String::as_str)
                    != Some(dev_credentials::CLIENT_SECRET)
            {
                let e = oauth_error(401, "invalid_client", "The OAuth client was not found.");
                return (e, None);
            }
            let refresh = form.get("refresh_token").cloned().unwrap_or_default();
            let grant = state
                .refresh_tokens
                .get(&refresh)
                .filter(|t| !t.revoked && form.get("client_id") == Some(&t.client_id))
                .cloned();
            let Some(grant) = grant else {
                let e = oauth_error(400, "invalid_grant", "Token has been expired or revoked.");
                return (e, None);
            };
            state.ensure_user(&grant.user);
            let body = state.issue_access_token(&grant.user, &grant.scope, Some(&refresh));
            (HttpResponse::Ok().json(body), Some(grant.user))
        }
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {
            let Some(assertion) = form.get("assertion") else {
                return (
                    oauth_error(400, "invalid_request", "Missing assertion."),
                    None,
                );
            };
            match verify_assertion(state, assertion, token_url) {
                Ok((scope, user)) => {
                    let user = state.ensure_user(&user).email.clone();
                    let body = state.issue_access_token(&user, &scope, None);
                    (HttpResponse::Ok().json(body), Some(user))
                }
                Err(why) => (oauth_error(400, "invalid_grant", why), None),
            }
        }
        Some("authorization_code") => super::oauth::exchange(state, form),
        _ => (
            oauth_error(400, "unsupported_grant_type", "Invalid grant_type."),
            None,
        ),
    }
}

/// Checks a service account's assertion; its scope and the user it acts for: `sub` (domain-wide
/// delegation impersonates that user), else the service account itself (`iss`).
fn verify_assertion(
    state: &State,
    assertion: &str,
    token_url: &str,
) -> Result<(String, String), &'static str> {
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
    let user = match c.get("sub").and_then(Value::as_str) {
        Some(sub) if valid_email(&normalize(sub)) => normalize(sub),
        Some(_) => return Err("Invalid email or User ID"),
        None => normalize(iss),
    };
    Ok((scope.to_string(), user))
}
