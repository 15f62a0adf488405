//! Google's errors, classified once: what to retry, what to refresh, what stops a calendar.

use std::time::Duration;

use serde_json::Value;

/// A failed Google call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GoogleError {
    /// 429, or 403 rateLimitExceeded / userRateLimitExceeded.
    #[error("rate limited ({status} {reason})")]
    RateLimited {
        status: u16,
        reason: String,
        retry_after: Option<Duration>,
    },
    /// 500, 502, 503, 504 answers (with the server's `Retry-After`, if any).
    #[error("Google unavailable (HTTP {status})")]
    Unavailable {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// Timeouts and connection errors.
    #[error("transient failure ({0})")]
    Transient(String),
    /// 401 after one token refresh.
    #[error("unauthorized (401)")]
    Unauthorized,
    /// 410 fullSyncRequired / updatedMinTooLongAgo.
    #[error("sync token expired (410 {0})")]
    SyncTokenInvalid(String),
    /// 410 deleted: the event was already deleted.
    #[error("already deleted (410)")]
    Gone,
    /// 412 conditionNotMet (If-Match).
    #[error("precondition failed (412)")]
    PreconditionFailed,
    /// 409 duplicate id.
    #[error("duplicate id (409)")]
    Duplicate,
    /// 404.
    #[error("not found (404)")]
    NotFound,
    /// 400, other 403s, and any other status: fix the request or the configuration.
    #[error("refused ({status} {reason})")]
    Permanent { status: u16, reason: String },
    /// The token endpoint said `invalid_grant`: re-consent needed (`calsync auth login`).
    #[error("credentials rejected (invalid_grant): run `calsync auth login`")]
    InvalidGrant,
    /// The token endpoint refused these credentials moments ago: not asked again until the hold
    /// ends (or an explicit sync lifts it), so N queued writes cost one token request, not N.
    #[error("credentials on hold after a refusal (retry in {}s)", .0.as_secs())]
    CredentialsOnHold(Duration),
    /// Bad local credentials (unreadable file, bad key).
    #[error("credentials unusable: {0}")]
    Credentials(String),
    /// A 2xx whose body is not what the API documents. Content-free: build it with
    /// [`GoogleError::invalid_json`] from a serde error.
    #[error("invalid response from Google: {0}")]
    InvalidResponse(String),
}

impl GoogleError {
    /// A request that got no answer, named by the host and the cause (`www.googleapis.com:
    /// connection refused`); never the path or query, which hold calendar and event ids.
    pub fn transport(e: &reqwest::Error) -> Self {
        let host = e
            .url()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "Google".into());
        Self::Transient(format!("{host}: {}", transport_cause(e)))
    }

    /// An unparsable body, described without its content: serde's messages quote the offending
    /// value (`invalid type: string "Dentist with Alice"`), and this error reaches logs and alerts.
    /// Kept: `context` (the request path: ids only), the error category, a missing field's name
    /// (it comes from calsync's types, not from the body), line and column.
    pub fn invalid_json(context: &str, e: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let kind = match e.classify() {
            Category::Io => "I/O error",
            Category::Syntax => "not JSON",
            Category::Data => "unexpected shape",
            Category::Eof => "truncated",
        };
        let message = e.to_string();
        let field = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| format!(" (missing field {name})"))
            .unwrap_or_default();
        Self::InvalidResponse(format!(
            "{context}: {kind}{field} at line {}, column {}",
            e.line(),
            e.column()
        ))
    }

    /// Builds the error for a non-2xx answer from its status, body and `Retry-After` header.
    pub fn from_response(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let reason = parsed
            .as_ref()
            .and_then(|v| v.pointer("/error/errors/0/reason"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match status {
            429 => Self::RateLimited {
                status,
                reason,
                retry_after,
            },
            // quotaExceeded / dailyLimitExceeded: usage limits that lift after a while (hours at
            // worst): the calendar's backoff and the failure alert, not a pause until someone acts.
            403 if matches!(
                reason.as_str(),
                "rateLimitExceeded"
                    | "userRateLimitExceeded"
                    | "quotaExceeded"
                    | "dailyLimitExceeded"
            ) =>
            {
                Self::RateLimited {
                    status,
                    reason,
                    retry_after,
                }
            }
            401 => Self::Unauthorized,
            404 => Self::NotFound,
            409 => Self::Duplicate,
            410 if reason == "deleted" => Self::Gone,
            410 => Self::SyncTokenInvalid(if reason.is_empty() {
                "gone".into()
            } else {
                reason
            }),
            412 => Self::PreconditionFailed,
            500 | 502 | 503 | 504 => Self::Unavailable {
                status,
                retry_after,
            },
            _ => Self::Permanent {
                status,
                reason: if reason.is_empty() {
                    "unknown".into()
                } else {
                    reason
                },
            },
        }
    }

    /// Worth retrying with backoff.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Unavailable { .. } | Self::Transient(_)
        )
    }

    /// The server's requested wait, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Unavailable { retry_after, .. } => {
                *retry_after
            }
            Self::CredentialsOnHold(hold) => Some(*hold),
            _ => None,
        }
    }

    /// Stops the calendar until someone acts (no retry loop).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Self::Permanent { .. } | Self::InvalidGrant | Self::Credentials(_)
        )
    }

    /// A short, content-free reason for the sync state and alerts.
    pub fn short_reason(&self) -> String {
        match self {
            Self::Permanent { status, reason } => format!("{status} {reason}"),
            Self::InvalidGrant => "invalid_grant".into(),
            Self::Credentials(_) => "credentials".into(),
            other => other.to_string(),
        }
    }

    pub fn is_sync_token_invalid(&self) -> bool {
        matches!(self, Self::SyncTokenInvalid(_))
    }
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Self::InvalidGrant)
    }
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound)
    }
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Self::Duplicate)
    }
    pub fn is_gone(&self) -> bool {
        matches!(self, Self::Gone)
    }
    pub fn is_precondition_failed(&self) -> bool {
        matches!(self, Self::PreconditionFailed)
    }
}

/// The root cause of a transport error in a few words: the I/O error's kind when there is one,
/// else the innermost source's own message (e.g. the resolver's), else reqwest's category.
pub(crate) fn transport_cause(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    if e.is_timeout() {
        return "timeout".into();
    }
    let mut innermost: Option<&dyn std::error::Error> = None;
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
                std::io::ErrorKind::ConnectionAborted => return "connection aborted".into(),
                std::io::ErrorKind::TimedOut => return "timeout".into(),
                _ => {}
            }
        }
        innermost = Some(s);
        source = s.source();
    }
    match innermost {
        Some(s) => s.to_string(),
        None if e.is_connect() => "connection failed".into(),
        None if e.is_body() || e.is_decode() => "body read failed".into(),
        None => "request failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_googles_bodies() {
        let rate = br#"{"error":{"errors":[{"domain":"usageLimits","reason":"rateLimitExceeded","message":"Rate Limit Exceeded"}],"code":403,"message":"Rate Limit Exceeded"}}"#;
        assert!(GoogleError::from_response(403, rate, None).is_retryable());
        let forbidden = br#"{"error":{"errors":[{"domain":"calendar","reason":"forbiddenForNonOrganizer"}],"code":403}}"#;
        assert!(GoogleError::from_response(403, forbidden, None).is_permanent());
        let gone = br#"{"error":{"errors":[{"domain":"calendar","reason":"fullSyncRequired","message":"Sync token is no longer valid, a full sync is required.","locationType":"parameter","location":"syncToken"}],"code":410,"message":"Sync token is no longer valid, a full sync is required."}}"#;
        assert!(GoogleError::from_response(410, gone, None).is_sync_token_invalid());
        let deleted =
            br#"{"error":{"errors":[{"domain":"global","reason":"deleted"}],"code":410}}"#;
        assert!(GoogleError::from_response(410, deleted, None).is_gone());
        assert!(GoogleError::from_response(503, b"<html>oops</html>", None).is_retryable());
        assert_eq!(
            GoogleError::from_response(503, b"", Some(Duration::from_secs(7))).retry_after(),
            Some(Duration::from_secs(7)),
            "Retry-After is honoured on 5xx too"
        );
        assert_eq!(
            GoogleError::from_response(429, b"", Some(Duration::from_secs(3))).retry_after(),
            Some(Duration::from_secs(3))
        );
        assert!(GoogleError::from_response(400, b"not json", None).is_permanent());
        // Usage limits lift by themselves: backoff, never a pause.
        for reason in ["quotaExceeded", "dailyLimitExceeded"] {
            let body = format!(
                r#"{{"error":{{"errors":[{{"domain":"usageLimits","reason":"{reason}"}}],"code":403}}}}"#
            );
            let e = GoogleError::from_response(403, body.as_bytes(), None);
            assert!(e.is_retryable() && !e.is_permanent(), "{reason}");
        }
    }

    #[test]
    fn invalid_responses_never_quote_the_body() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Page {
            items: Vec<Value>,
            #[serde(rename = "nextSyncToken")]
            next_sync_token: String,
        }
        let parse = |body: &str| {
            let e = serde_json::from_str::<Page>(body).expect_err("must not parse");
            GoogleError::invalid_json("/calendars/primary/events", &e).to_string()
        };
        let wrong_type = parse(r#"{"items": "Dentist with Alice", "nextSyncToken": "t"}"#);
        assert!(!wrong_type.contains("Dentist"), "{wrong_type}");
        assert!(
            wrong_type.contains("/calendars/primary/events"),
            "{wrong_type}"
        );
        assert!(
            wrong_type.contains("unexpected shape at line 1"),
            "{wrong_type}"
        );
        let missing = parse(r#"{"items": [{"summary": "Dentist with Alice"}]}"#);
        assert!(!missing.contains("Dentist"), "{missing}");
        assert!(missing.contains("missing field nextSyncToken"), "{missing}");
        let syntax = parse(r#"{"items": [{"summary": "Dentist with Alice"}"#);
        assert!(!syntax.contains("Dentist"), "{syntax}");
        assert!(syntax.contains("truncated"), "{syntax}");
    }
}
