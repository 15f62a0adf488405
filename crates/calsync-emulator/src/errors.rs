//! Google's error bodies, exactly as the API sends them.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::json;

/// `{"error": {"errors": [{domain, reason, message, ...}], "code", "message", "status"}}`.
pub fn google_error(code: u16, domain: &str, reason: &str, message: &str) -> HttpResponse {
    let status = match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        410 => "FAILED_PRECONDITION",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        503 => "UNAVAILABLE",
        _ => "UNKNOWN",
    };
    let mut item = json!({"domain": domain, "reason": reason, "message": message});
    match reason {
        "fullSyncRequired" => {
            item["locationType"] = json!("parameter");
            item["location"] = json!("syncToken");
        }
        "conditionNotMet" => {
            item["locationType"] = json!("header");
            item["location"] = json!("If-Match");
        }
        "authError" => {
            item["locationType"] = json!("header");
            item["location"] = json!("Authorization");
        }
        _ => {}
    }
    HttpResponse::build(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .json(json!({
            "error": {"errors": [item], "code": code, "message": message, "status": status}
        }))
}

pub fn bad_request(message: &str) -> HttpResponse {
    google_error(400, "global", "badRequest", message)
}
pub fn invalid(message: &str) -> HttpResponse {
    google_error(400, "global", "invalid", message)
}
pub fn not_found() -> HttpResponse {
    google_error(404, "global", "notFound", "Not Found")
}
pub fn full_sync_required() -> HttpResponse {
    google_error(
        410,
        "calendar",
        "fullSyncRequired",
        "Sync token is no longer valid, a full sync is required.",
    )
}
pub fn deleted() -> HttpResponse {
    google_error(410, "global", "deleted", "Resource has been deleted")
}
pub fn precondition_failed() -> HttpResponse {
    google_error(412, "global", "conditionNotMet", "Precondition Failed")
}
pub fn duplicate() -> HttpResponse {
    google_error(
        409,
        "global",
        "duplicate",
        "The requested identifier already exists.",
    )
}
pub fn unauthorized() -> HttpResponse {
    google_error(401, "global", "authError", "Invalid Credentials")
}
pub fn rate_limited(code: u16) -> HttpResponse {
    google_error(
        code,
        "usageLimits",
        "rateLimitExceeded",
        "Rate Limit Exceeded",
    )
}
pub fn required(message: &str) -> HttpResponse {
    google_error(400, "global", "required", message)
}
pub fn time_range_empty() -> HttpResponse {
    google_error(
        400,
        "calendar",
        "timeRangeEmpty",
        "The specified time range is empty.",
    )
}
pub fn bad_ordering() -> HttpResponse {
    bad_request("The requested ordering is not available for the particular query.")
}
pub fn push_not_supported() -> HttpResponse {
    google_error(
        400,
        "global",
        "pushNotSupportedForRequestedResource",
        "Push notifications are not supported by this resource.",
    )
}
