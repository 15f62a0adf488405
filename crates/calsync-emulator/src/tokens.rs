//! Control API over tokens: expire access tokens, revoke and restore refresh tokens, for everyone
//! (`/emulator/...`) or for one user (`/emulator/users/{email}/...`).

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde_json::json;

use super::Shared;
use super::credentials::USER_EMAIL;
use super::users::Owner;

/// Expires access tokens (all of them, or the user's): their next API call answers 401, as at Google
/// when an hour has passed. The tokens stay known, so the request log still names their user.
pub async fn expire(s: web::Data<Shared>, owner: Owner) -> HttpResponse {
    let mut state = s.lock();
    let past = Utc::now() - chrono::Duration::seconds(1);
    for t in state.access_tokens.values_mut() {
        if !owner.scoped || t.user == owner.email {
            t.expires = past;
        }
    }
    HttpResponse::Ok().json(json!({"expired": true}))
}

/// Revokes refresh tokens (all of them, or the user's), as a user removing the app's access: the token
/// endpoint answers `invalid_grant`, and the access tokens issued from them answer 401 (unscoped: every
/// access token, as before users existed).
pub async fn revoke(s: web::Data<Shared>, owner: Owner) -> HttpResponse {
    let mut state = s.lock();
    let mut revoked = Vec::new();
    for (token, grant) in state.refresh_tokens.iter_mut() {
        if !owner.scoped || grant.user == owner.email {
            grant.revoked = true;
            revoked.push(token.clone());
        }
    }
    if owner.scoped {
        state.access_tokens.retain(|_, t| {
            t.refresh
                .as_ref()
                .is_none_or(|r| !revoked.iter().any(|x| x == r))
        });
    } else {
        state.access_tokens.clear();
    }
    HttpResponse::Ok().json(json!({"revoked": true}))
}

/// Gives revoked refresh tokens back (the user consented again): all of them, or the user's; the dev
/// refresh token too when the default user is concerned (even after `/revoke` forgot it).
pub async fn restore(s: web::Data<Shared>, owner: Owner) -> HttpResponse {
    let mut state = s.lock();
    for grant in state.refresh_tokens.values_mut() {
        if !owner.scoped || grant.user == owner.email {
            grant.revoked = false;
        }
    }
    if !owner.scoped || owner.email == USER_EMAIL {
        state.restore_dev_refresh_token();
    }
    HttpResponse::Ok().json(json!({"restored": true}))
}
