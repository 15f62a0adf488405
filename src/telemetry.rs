//! Logging: JSON lines in production, readable text on a terminal, `RUST_LOG` filtering, and request spans without PII.

use std::io::IsTerminal;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

/// Default filter when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,actix_server=warn,fred=warn";

/// Installs the global subscriber writing to stdout (stderr for CLI commands that print results).
pub fn init(format: LogFormat, to_stderr: bool) {
    if to_stderr {
        init_with(format, std::io::stderr().is_terminal(), std::io::stderr);
    } else {
        init_with(format, std::io::stdout().is_terminal(), std::io::stdout);
    }
}

fn init_with<W>(format: LogFormat, terminal: bool, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !terminal,
    };
    let builder = fmt().with_env_filter(filter).with_writer(writer);
    // A second init (tests, embedded use) keeps the first subscriber.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.with_target(false).compact().try_init()
    };
}

/// Root span of every HTTP request: method, route pattern, status and request id; no client IP, no query string.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        tracing::info_span!(
            "http_request",
            http.method = %request.method(),
            http.route = %route,
            request_id = %request_id,
            http.status_code = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(resp) => resp.response().status().as_u16(),
            Err(e) => e.as_response_error().status_code().as_u16(),
        };
        span.record("http.status_code", status);
        if status >= 500 {
            tracing::warn!(parent: &span, http.status_code = status, "request failed");
        } else {
            tracing::debug!(parent: &span, http.status_code = status, "request done");
        }
    }
}
