//! The admin bearer-token extractor for `/api/*` and `/admin/*`.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::AppState;
use crate::admin_auth::Claims;
use crate::error::ApiError;
use crate::signin::Denied;

/// A request carrying a valid admin JWT (HS256, `exp` required, within the configured lifetime
/// and not revoked); failures are limited per client address.
pub struct Admin(pub Claims);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(check(req))
    }
}

fn check(req: &HttpRequest) -> Result<Admin, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state missing")))?;
    if state.settings.admin.jwt_secret.is_none() {
        return Err(ApiError::Forbidden(
            "the admin API is disabled: ADMIN_JWT_SECRET is not set".into(),
        ));
    }
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    let peer = req.peer_addr().map(|a| a.ip());
    state
        .signins
        .check(&state.settings.admin, peer, token, "bearer")
        .map(Admin)
        .map_err(|e| match e {
            Denied::Limited => ApiError::TooManyRequests,
            Denied::Refused(_) | Denied::Disabled => ApiError::Unauthorized,
        })
}
