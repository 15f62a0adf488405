//! The admin bearer-token extractor for `/api/*` and `/admin/*`.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::AppState;
use crate::admin_auth::Claims;
use crate::error::ApiError;
use crate::signin::Denied;

/// A request carrying a valid admin JWT (HS256, `exp` required, within the configured lifetime
/// and not revoked); failures are limited per client address. An account-scoped token
/// (`calsync admin-token --account NAME`) passes too: each route asks [`Admin::account`] what it
/// may see, or refuses with [`Admin::require_admin`].
pub struct Admin(pub Claims);

/// `?account=NAME` on a listing: one account's rows (an account-scoped caller's own, always).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    pub account: Option<String>,
}

impl Admin {
    /// The one account this caller may see and change; None: every account.
    pub fn account(&self) -> Option<&str> {
        self.0.account()
    }

    /// Routes that change the server itself (accounts, the connect flow, all channels) are for
    /// admin tokens only.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.account() {
            None => Ok(()),
            Some(a) => Err(ApiError::Forbidden(format!(
                "this token is limited to account {a}; an admin token is required"
            ))),
        }
    }

    /// The account a listing covers: the caller's own when scoped (asking for another is "not
    /// found", as its data would be), else the one asked for, if any.
    pub fn scope<'a>(&'a self, asked: Option<&'a str>) -> Result<Option<&'a str>, ApiError> {
        match (self.account(), asked) {
            (Some(own), Some(other)) if own != other => {
                Err(ApiError::NotFound(format!("account {other:?}")))
            }
            (Some(own), _) => Ok(Some(own)),
            (None, asked) => Ok(asked),
        }
    }

    /// Fails with 404 `what` when the calendar `key` is not the caller's account's (or does not
    /// exist), so an account-scoped caller cannot tell another account's ids from missing ones.
    pub async fn may_see_calendar(
        &self,
        pool: &sqlx::PgPool,
        key: &str,
        what: &str,
    ) -> Result<(), ApiError> {
        let Some(own) = self.account() else {
            return Ok(());
        };
        match crate::db::calendars::account_of(pool, key).await? {
            Some(account) if account == own => Ok(()),
            _ => Err(ApiError::NotFound(what.into())),
        }
    }
}

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
