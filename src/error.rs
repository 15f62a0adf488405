//! API errors: stable machine-readable codes in `{"error": {"code", "message"}}`; internal causes are logged, never sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// What an HTTP handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many failed sign-ins from this address; retry in a minute")]
    TooManyRequests,
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("a dependency is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::TooManyRequests => "rate_limited",
            Self::RequestTimeout => "request_timeout",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<sqlx::Error> for ApiError {
    /// Storage errors classified in one place: missing row → 404, unique violation → 409, the
    /// database unreachable, restarting or timing out a statement → 503 (worth a retry), else 500.
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound("resource".into()),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Conflict("the resource already exists".into())
            }
            // 22021 character_not_in_repertoire (NUL in text), 22P05 untranslatable_character
            // (\u0000 in jsonb): text PostgreSQL refuses, a client's mistake. Handlers name the
            // field first; this is the backstop for the ones they do not check.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("22021" | "22P05")) =>
            {
                Self::BadRequest(
                    "a text value contains a character that cannot be stored (NUL)".into(),
                )
            }
            // The write contract's own refusals (its messages name the column, never a value).
            sqlx::Error::Database(db)
                if db.code().as_deref() == Some("23514")
                    && db.message().starts_with("calsync: ") =>
            {
                Self::BadRequest(db.message().trim_start_matches("calsync: ").to_string())
            }
            _ if crate::db::is_transient(&e) || is_statement_timeout(&e) => {
                Self::Unavailable(e.into())
            }
            _ => Self::Internal(e.into()),
        }
    }
}

/// 57014 query_canceled: `statement_timeout` fired (the database is overloaded or a lock is held).
fn is_statement_timeout(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("57014"))
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) | Self::Unavailable(cause) = self {
            tracing::error!(error.code = self.code(), error.cause = %format!("{cause:#}"), "request failed");
        }
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unauthorized) {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if matches!(self, Self::RequestTimeout) {
            // The rest of the body may never come: the connection is not reused.
            resp.force_close();
        }
        if matches!(self, Self::TooManyRequests) {
            resp.insert_header(("Retry-After", crate::signin::WINDOW.as_secs().to_string()));
        }
        resp.json(json!({"error": {"code": self.code(), "message": self.to_string()}}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// A server error carrying only a SQLSTATE.
    #[derive(Debug)]
    struct Sqlstate(&'static str);

    impl std::fmt::Display for Sqlstate {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }
    impl std::error::Error for Sqlstate {}
    impl sqlx::error::DatabaseError for Sqlstate {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn status(e: sqlx::Error) -> StatusCode {
        ApiError::from(e).status_code()
    }

    #[test]
    fn transient_database_failures_are_503() {
        for code in ["08006", "08001", "57P01", "57P02", "57P03", "57014"] {
            assert_eq!(
                status(sqlx::Error::Database(Box::new(Sqlstate(code)))),
                StatusCode::SERVICE_UNAVAILABLE,
                "{code}"
            );
        }
        for e in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Protocol("unexpected message".into()),
            sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()),
        ] {
            assert_eq!(status(e), StatusCode::SERVICE_UNAVAILABLE);
        }
    }

    #[test]
    fn other_database_failures_keep_their_status() {
        assert_eq!(status(sqlx::Error::RowNotFound), StatusCode::NOT_FOUND);
        // 42703 undefined_column, 23502 not_null_violation: bugs, not outages.
        for code in ["42703", "23502"] {
            assert_eq!(
                status(sqlx::Error::Database(Box::new(Sqlstate(code)))),
                StatusCode::INTERNAL_SERVER_ERROR,
                "{code}"
            );
        }
    }
}
